package org.anf.sim.check;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.anf.sim.history.Op;
import org.jspecify.annotations.Nullable;

/**
 * The model of one name family: the versions its writes produced, each with the window in which it
 * may have taken effect. Only the owning client writes a family, one operation at a time, so the
 * versions form a sequence; an acknowledged write took effect between its invocation and its
 * completion, an indeterminate one at some point after its invocation (or never), and a refused one
 * not at all.
 */
final class FamilyModel {
  /**
   * A state of the family.
   *
   * @param bound the name bound (or, when retired, the name that was unbound); null before the bind
   * @param uid the family's UID, null when not known (never acknowledged with one)
   * @param earlier names bound before {@code bound}, which must redirect to the UID
   * @param beginLoUs earliest time it may have taken effect
   * @param beginHiUs latest time it may have taken effect (MAX_VALUE: maybe never)
   * @param cause the write that made it (null for the initial state)
   */
  record Version(
      @Nullable String bound,
      @Nullable String uid,
      Set<String> earlier,
      boolean retired,
      long beginLoUs,
      long beginHiUs,
      @Nullable Op cause) {

    /** Whether the answer {@code status}/{@code uid} for {@code name} is what this state gives. */
    boolean admits(String name, @Nullable String status, @Nullable String answerUid) {
      boolean notFound = "NOT_FOUND".equals(status) || "PARTIAL".equals(status);
      boolean uidOk = uid == null || uid.equals(answerUid);
      if (bound == null) {
        return notFound;
      }
      if (!retired) {
        if (name.equals(bound)) {
          return "EXACT".equals(status) && uidOk;
        }
        if (earlier.contains(name)) {
          return "REDIRECTED".equals(status) && uidOk;
        }
        return notFound;
      }
      if (earlier.contains(name)) {
        return notFound || ("REDIRECTED".equals(status) && uidOk);
      }
      return notFound;
    }

    String expect(String name) {
      if (bound == null
          || (retired && !earlier.contains(name))
          || (retired && name.equals(bound))) {
        return "NOT_FOUND";
      }
      String u = uid == null ? "its UID" : uid;
      if (name.equals(bound)) {
        return "EXACT " + u;
      }
      if (earlier.contains(name)) {
        return retired ? "NOT_FOUND or REDIRECTED " + u : "REDIRECTED " + u;
      }
      return "NOT_FOUND";
    }

    String origin() {
      return cause == null ? "before any write" : "after " + cause.describe();
    }
  }

  final String family;
  final List<Version> versions = new ArrayList<>();
  final List<Op> writes = new ArrayList<>();

  private FamilyModel(String family) {
    this.family = family;
    versions.add(initial());
  }

  /** The state of every name before anything was bound. */
  static Version initial() {
    return new Version(null, null, Set.of(), false, Long.MIN_VALUE, Long.MIN_VALUE, null);
  }

  /** Builds every family's model from a history. */
  static Map<String, FamilyModel> of(List<Op> ops) {
    Map<String, FamilyModel> out = new LinkedHashMap<>();
    for (Op op : ops) {
      if (op.kind().isFamilyWrite()) {
        out.computeIfAbsent(op.family(), FamilyModel::new).add(op);
      }
    }
    return out;
  }

  private void add(Op op) {
    writes.add(op);
    if (op.outcome() == Op.Outcome.REFUSED) {
      return;
    }
    Version prev = versions.get(versions.size() - 1);
    long lo = op.invokedUs();
    long hi = op.outcome() == Op.Outcome.OK ? op.completedUs() : Long.MAX_VALUE;
    Version next =
        switch (op.kind()) {
          case BIND -> new Version(op.alias(), op.uid(), Set.of(), false, lo, hi, op);
          case RENAME, MOVE, XMOVE -> {
            Set<String> earlier = new HashSet<>(prev.earlier());
            if (prev.bound() != null) {
              earlier.add(prev.bound());
            }
            String target = op.target();
            yield new Version(target, prev.uid(), Set.copyOf(earlier), false, lo, hi, op);
          }
          case UNBIND -> new Version(prev.bound(), prev.uid(), prev.earlier(), true, lo, hi, op);
          case RESOLVE, SPLIT, MERGE ->
              throw new IllegalStateException("not a write to a family: " + op.kind());
        };
    versions.add(next);
  }

  /** Latest time version i may still have been in effect (MAX_VALUE: still is). */
  long endHi(int i) {
    return i + 1 < versions.size() ? versions.get(i + 1).beginHiUs() : Long.MAX_VALUE;
  }

  /** Versions that may have been in effect at some moment in [fromUs, toUs]. */
  List<Version> during(long fromUs, long toUs) {
    List<Version> out = new ArrayList<>();
    for (int i = 0; i < versions.size(); i++) {
      Version v = versions.get(i);
      if (v.beginLoUs() <= toUs && endHi(i) >= fromUs) {
        out.add(v);
      }
    }
    return out;
  }

  /** Versions the family may be in at the end of the run. */
  List<Version> finals() {
    List<Version> out = new ArrayList<>();
    for (int i = 0; i < versions.size(); i++) {
      if (endHi(i) == Long.MAX_VALUE) {
        out.add(versions.get(i));
      }
    }
    return out;
  }

  /** Whether a write that was not refused (acknowledged or indeterminate) introduced the name. */
  boolean everIntroduced(String name) {
    for (Op w : writes) {
      if (w.outcome() != Op.Outcome.REFUSED
          && (name.equals(w.alias()) || name.equals(w.target()))) {
        return true;
      }
    }
    return false;
  }

  /** Every name the family ever had (bound or attempted). */
  Set<String> names() {
    Set<String> out = new java.util.LinkedHashSet<>();
    for (Op w : writes) {
      out.add(w.alias());
      if (w.target() != null) {
        out.add(w.target());
      }
    }
    return out;
  }
}
