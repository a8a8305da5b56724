@NullMarked
package org.anf.sim.runner;

import org.jspecify.annotations.NullMarked;
