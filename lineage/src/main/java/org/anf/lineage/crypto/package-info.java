@NullMarked
package org.anf.lineage.crypto;

import org.jspecify.annotations.NullMarked;
