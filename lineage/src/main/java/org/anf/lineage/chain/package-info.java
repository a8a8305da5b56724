@NullMarked
package org.anf.lineage.chain;

import org.jspecify.annotations.NullMarked;
