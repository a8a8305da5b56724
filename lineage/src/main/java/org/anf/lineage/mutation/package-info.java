@NullMarked
package org.anf.lineage.mutation;

import org.jspecify.annotations.NullMarked;
