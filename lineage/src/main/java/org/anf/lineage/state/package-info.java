@NullMarked
package org.anf.lineage.state;

import org.jspecify.annotations.NullMarked;
