@NullMarked
package org.anf.sim.faults;

import org.jspecify.annotations.NullMarked;
