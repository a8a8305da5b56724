@NullMarked
package org.anf.lineage.kv;

import org.jspecify.annotations.NullMarked;
