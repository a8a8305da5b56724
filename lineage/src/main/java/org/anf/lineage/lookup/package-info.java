@NullMarked
package org.anf.lineage.lookup;

import org.jspecify.annotations.NullMarked;
