@NullMarked
package org.anf.lineage.uid;

import org.jspecify.annotations.NullMarked;
