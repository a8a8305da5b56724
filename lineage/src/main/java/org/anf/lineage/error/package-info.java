@NullMarked
package org.anf.lineage.error;

import org.jspecify.annotations.NullMarked;
