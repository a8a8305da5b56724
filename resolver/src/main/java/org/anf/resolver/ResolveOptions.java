package org.anf.resolver;

import org.anf.proto.v1.Consistency;

/**
 * Per-request resolution options.
 *
 * @param consistency passed to the anchors (BOUNDED by default)
 * @param maxStalenessMs for BOUNDED; 0 means the resolver's default
 * @param trace record every step of the walk in the result's path
 */
public record ResolveOptions(Consistency consistency, int maxStalenessMs, boolean trace) {
  public static final ResolveOptions DEFAULT =
      new ResolveOptions(Consistency.CONSISTENCY_BOUNDED, 0, false);

  public ResolveOptions withTrace(boolean t) {
    return new ResolveOptions(consistency, maxStalenessMs, t);
  }
}
