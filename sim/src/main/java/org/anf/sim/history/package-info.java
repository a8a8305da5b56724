@NullMarked
package org.anf.sim.history;

import org.jspecify.annotations.NullMarked;
