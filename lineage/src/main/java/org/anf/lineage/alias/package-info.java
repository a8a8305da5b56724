@NullMarked
package org.anf.lineage.alias;

import org.jspecify.annotations.NullMarked;
