package org.anf.sim.history;

import org.jspecify.annotations.Nullable;

/**
 * One client operation as the history holds it: what was asked, by whom, through which anchor, when
 * it was invoked and when it completed (microseconds since the run started), and what came back.
 *
 * @param family the workload's name family the operation touched (a bind and its renames); empty
 *     for a split or merge, which touch every family under the scope
 * @param alias the alias acted on or resolved; for a split the parent scope, for a merge the child
 * @param target the new alias of a rename or move; for a split the child scope, for a merge the
 *     parent
 * @param scope the path of the scope the write was sent to ({@code s0}, {@code s0@g1}), or that
 *     answered a resolve
 * @param scopeId that scope's id (16 hex digits), empty when not known
 * @param seq the lineage position acknowledged in that scope (0: none)
 * @param uid the UID acknowledged or answered, in text form; null when none or not known
 * @param status for resolves: {@code EXACT}, {@code REDIRECTED}, {@code NOT_FOUND}...
 * @param boundMs for resolves: the staleness bound the answer claims when not marked stale (0:
 *     linearizable)
 * @param mutationId hex of the mutation id (writes)
 */
public record Op(
    long id,
    String client,
    Kind kind,
    String family,
    String alias,
    @Nullable String target,
    String scope,
    String scopeId,
    long seq,
    long invokedUs,
    long completedUs,
    Outcome outcome,
    @Nullable String uid,
    @Nullable String status,
    boolean stale,
    long ageMs,
    String consistency,
    long boundMs,
    String via,
    @Nullable String mutationId,
    String detail) {

  public enum Kind {
    BIND,
    RENAME,
    /** A move within one scope. */
    MOVE,
    /** A move to another scope: a cross-group transaction. */
    XMOVE,
    UNBIND,
    SPLIT,
    MERGE,
    RESOLVE;

    public boolean isWrite() {
      return this != RESOLVE;
    }

    /** A write to one name family (split and merge change structure, not names). */
    public boolean isFamilyWrite() {
      return isWrite() && !isStructural();
    }

    public boolean isStructural() {
      return this == SPLIT || this == MERGE;
    }

    /** A rename or a move: the family's name becomes {@code target}. */
    public boolean renames() {
      return this == RENAME || this == MOVE || this == XMOVE;
    }

    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * OK: acknowledged (writes) or answered (resolves). REFUSED: a definite refusal, nothing changed.
   * INDETERMINATE: no answer in time (the write may or may not have been applied; the resolve is
   * counted unavailable).
   */
  public enum Outcome {
    OK,
    REFUSED,
    INDETERMINATE
  }

  public double invokedS() {
    return invokedUs / 1e6;
  }

  public double completedS() {
    return completedUs / 1e6;
  }

  public double latencyMs() {
    return (completedUs - invokedUs) / 1e3;
  }

  /** Short human form for check messages: {@code op #12 bind s0@c1f2 (via a2, 3.10-3.14 s)}. */
  public String describe() {
    return String.format(
        java.util.Locale.ROOT,
        "op #%d %s %s%s (%s via %s, %.2f-%.2f s)",
        id,
        kind.label(),
        alias,
        target == null ? "" : " -> " + target,
        client,
        via.isEmpty() ? "-" : via,
        invokedS(),
        completedS());
  }
}
