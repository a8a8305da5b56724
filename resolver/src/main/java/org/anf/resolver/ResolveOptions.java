package org.anf.resolver;

import org.anf.proto.v1.Consistency;

/**
 * Per-request resolution options.
 *
 * @param consistency passed to the anchors (BOUNDED by default); also decides which cached answers
 *     may be served (see {@link AnfResolver}): LINEARIZABLE none, BOUNDED coherent ones or those
 *     younger than {@code maxStalenessMs}, ANY any within its TTL
 * @param maxStalenessMs for BOUNDED, the oldest answer acceptable; 0 means the anchors' default and
 *     only coherent cached answers (every scope on the path watched live)
 * @param trace walk like {@code dig +trace}: from the root, asking every scope, reading no cached
 *     answer or delegation, so the path shows each step as the anchors give it now
 */
public record ResolveOptions(Consistency consistency, int maxStalenessMs, boolean trace) {
  public static final ResolveOptions DEFAULT =
      new ResolveOptions(Consistency.CONSISTENCY_BOUNDED, 0, false);

  public ResolveOptions withTrace(boolean t) {
    return new ResolveOptions(consistency, maxStalenessMs, t);
  }
}
