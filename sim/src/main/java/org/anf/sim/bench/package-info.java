@NullMarked
package org.anf.sim.bench;

import org.jspecify.annotations.NullMarked;
