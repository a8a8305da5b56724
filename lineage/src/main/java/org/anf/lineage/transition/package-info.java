@NullMarked
package org.anf.lineage.transition;

import org.jspecify.annotations.NullMarked;
