@NullMarked
package org.anf.sim.scenario;

import org.jspecify.annotations.NullMarked;
