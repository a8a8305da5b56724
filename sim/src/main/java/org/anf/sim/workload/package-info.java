@NullMarked
package org.anf.sim.workload;

import org.jspecify.annotations.NullMarked;
