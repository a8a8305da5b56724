@NullMarked
package org.anf.sim.report;

import org.jspecify.annotations.NullMarked;
