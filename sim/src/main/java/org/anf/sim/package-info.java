@NullMarked
package org.anf.sim;

import org.jspecify.annotations.NullMarked;
