/** Structural mutations across anchor groups: the node's coordinator and its crash recovery. */
@NullMarked
package org.anf.anchor.structure;

import org.jspecify.annotations.NullMarked;
