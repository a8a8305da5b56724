@NullMarked
package org.anf.sim.check;

import org.jspecify.annotations.NullMarked;
