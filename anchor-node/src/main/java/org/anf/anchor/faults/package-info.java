/**
 * The fault-injection seam of an anchor node, for the simulator ({@code anf sim}): gRPC
 * interceptors that make every message between two named parties cross a directed link whose state
 * a {@link org.anf.anchor.faults.LinkFaults} gives (up, cut, delayed). Installed only through
 * {@link org.anf.anchor.AnchorNode.Hooks}; without hooks no code here runs.
 */
@NullMarked
package org.anf.anchor.faults;

import org.jspecify.annotations.NullMarked;
