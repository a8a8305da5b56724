/**
 * The naming core of anf: alias grammar, UIDs, scope state and its transitions, lineage and its
 * hash chain, best-match lookup. Pure Java: no I/O, no threads, no clocks. The same inputs give the
 * same outputs on every anchor, which is what lets Raft replicas and lineage replays agree.
 */
@NullMarked
package org.anf.lineage;

import org.jspecify.annotations.NullMarked;
