package org.anf.lineage.chain;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.transition.Transitions;
import org.anf.proto.v1.LineageEntry;
import org.jspecify.annotations.Nullable;

/**
 * Checks a lineage chain and names every entry that disagrees: an edited entry (its hash no longer
 * matches its content), a dropped one (a gap in seq, a broken link), a reordered one, a bad
 * signature, an end short of the head that anchors report, and, when asked to replay, an entry
 * whose effect or delta does not follow from applying its own mutation.
 */
public final class ChainVerifier {
  private ChainVerifier() {}

  public enum ProblemKind {
    WRONG_SCOPE,
    EDITED,
    OUT_OF_ORDER,
    DROPPED,
    BROKEN_LINK,
    BAD_SIGNATURE,
    HEAD_MISMATCH,
    REPLAY_MISMATCH
  }

  public record Problem(long seq, int index, ProblemKind kind, String message) {
    @Override
    public String toString() {
      return "entry #" + index + " (seq " + seq + "): " + kind + ": " + message;
    }
  }

  /** The head an anchor reports (its last seq and hash), to catch entries dropped at the end. */
  public record Head(long seq, com.google.protobuf.ByteString hash) {}

  public record Report(List<Problem> problems, long entries) {
    public boolean ok() {
      return problems.isEmpty();
    }

    @Override
    public String toString() {
      if (ok()) {
        return "lineage verifies: " + entries + " entries";
      }
      StringBuilder sb = new StringBuilder("lineage does not verify:");
      for (Problem p : problems) {
        sb.append("\n  ").append(p);
      }
      return sb.toString();
    }
  }

  public static final class Options {
    boolean signatures = true;
    boolean replay = false;
    long startSeq = 1;
    @Nullable Head head;

    /**
     * The seq the chain must start at: 1 for a whole history, later for a compacted one (then the
     * first entry's link cannot be checked and replay is skipped).
     */
    public Options startSeq(long seq) {
      this.startSeq = seq;
      return this;
    }

    public Options signatures(boolean check) {
      this.signatures = check;
      return this;
    }

    /** Re-applies every mutation on an empty state (the chain must start at seq 1). */
    public Options replay(boolean replay) {
      this.replay = replay;
      return this;
    }

    public Options head(@Nullable Head head) {
      this.head = head;
      return this;
    }
  }

  public static Report verify(List<LineageEntry> chain) {
    return verify(chain, new Options());
  }

  public static Report verify(List<LineageEntry> chain, Options opts) {
    List<Problem> problems = new ArrayList<>();
    if (chain.isEmpty()) {
      if (opts.head != null && opts.head.seq() > 0) {
        problems.add(
            new Problem(
                0,
                0,
                ProblemKind.HEAD_MISMATCH,
                "no entries, but the head is at seq " + opts.head.seq()));
      }
      return new Report(problems, 0);
    }
    long scope = chain.get(0).getScopeId();
    // A gap whose missing seq turns up later is a reordering, not a drop.
    java.util.Set<Long> present = new java.util.HashSet<>();
    chain.forEach(e -> present.add(e.getSeq()));
    LineageEntry prev = null;
    for (int i = 0; i < chain.size(); i++) {
      LineageEntry e = chain.get(i);
      if (e.getScopeId() != scope) {
        problems.add(
            new Problem(e.getSeq(), i, ProblemKind.WRONG_SCOPE, "belongs to another scope"));
      }
      byte[] recomputed = Canonical.entryHash(e);
      if (!Arrays.equals(recomputed, e.getHash().toByteArray())) {
        problems.add(
            new Problem(
                e.getSeq(), i, ProblemKind.EDITED, "its stored hash does not match its content"));
      }
      if (prev == null) {
        if (e.getSeq() > opts.startSeq && present.contains(opts.startSeq)) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.OUT_OF_ORDER,
                  "seq "
                      + e.getSeq()
                      + " comes first, but seq "
                      + opts.startSeq
                      + " appears later in the chain"));
        } else if (e.getSeq() > opts.startSeq) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.DROPPED,
                  "entries "
                      + opts.startSeq
                      + ".."
                      + (e.getSeq() - 1)
                      + " are missing at the start"));
        } else if (e.getSeq() < opts.startSeq) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.OUT_OF_ORDER,
                  "the chain should start at seq " + opts.startSeq));
        }
        if (e.getSeq() == 1
            && !Arrays.equals(e.getPrevHash().toByteArray(), ScopeState.zeroHash())) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.BROKEN_LINK,
                  "the genesis entry links to a predecessor"));
        }
      } else {
        long expected = prev.getSeq() + 1;
        if (e.getSeq() < expected) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.OUT_OF_ORDER,
                  "seq " + e.getSeq() + " comes after seq " + prev.getSeq()));
        } else if (e.getSeq() > expected && present.contains(expected)) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.OUT_OF_ORDER,
                  "seq "
                      + e.getSeq()
                      + " comes where seq "
                      + expected
                      + " belongs, which appears later in the chain"));
        } else if (e.getSeq() > expected) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.DROPPED,
                  "entries " + expected + ".." + (e.getSeq() - 1) + " are missing before it"));
        }
        if (!Arrays.equals(e.getPrevHash().toByteArray(), prev.getHash().toByteArray())) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.BROKEN_LINK,
                  "it does not link to the entry before it (seq " + prev.getSeq() + ")"));
        }
      }
      if (opts.signatures && !Signing.verify(e.getMutation())) {
        problems.add(
            new Problem(
                e.getSeq(),
                i,
                ProblemKind.BAD_SIGNATURE,
                "its mutation's signature does not verify"));
      }
      prev = e;
    }
    LineageEntry last = chain.get(chain.size() - 1);
    if (opts.head != null
        && (last.getSeq() != opts.head.seq() || !last.getHash().equals(opts.head.hash()))) {
      problems.add(
          new Problem(
              last.getSeq(),
              chain.size() - 1,
              ProblemKind.HEAD_MISMATCH,
              "the chain ends at seq "
                  + last.getSeq()
                  + " ("
                  + Bytes.hex(last.getHash().toByteArray()).substring(0, 16)
                  + ") but the head is seq "
                  + opts.head.seq()
                  + " ("
                  + Bytes.hex(opts.head.hash().toByteArray())
                      .substring(0, Math.min(16, 2 * opts.head.hash().size()))
                  + ")"));
    }
    if (opts.replay && chain.get(0).getSeq() == 1) {
      replay(chain, problems);
    }
    return new Report(problems, chain.size());
  }

  private static void replay(List<LineageEntry> chain, List<Problem> problems) {
    MemoryKv kv = new MemoryKv();
    for (int i = 0; i < chain.size(); i++) {
      LineageEntry e = chain.get(i);
      Outcome o = Transitions.replay(kv, e, Transitions.Verify.SIGNATURE);
      if (o instanceof Outcome.Applied a) {
        if (!a.entry().getHash().equals(e.getHash())) {
          problems.add(
              new Problem(
                  e.getSeq(),
                  i,
                  ProblemKind.REPLAY_MISMATCH,
                  "replaying its mutation gives a different entry (effect, delta or links altered)"));
          return;
        }
        kv.apply(a.writes());
      } else {
        String why =
            o instanceof Outcome.Refused r
                ? r.error().getMessage()
                : "a duplicate of an earlier entry";
        problems.add(
            new Problem(
                e.getSeq(),
                i,
                ProblemKind.REPLAY_MISMATCH,
                "its mutation does not replay: " + why));
        return;
      }
    }
  }

  /** Applies a chain's mutations, from seq 1, to an empty state and returns that state. */
  public static MemoryKv rebuild(List<LineageEntry> chain) {
    MemoryKv kv = new MemoryKv();
    for (LineageEntry e : chain) {
      Outcome o = Transitions.replay(kv, e, Transitions.Verify.ALREADY_VERIFIED);
      if (!(o instanceof Outcome.Applied a)) {
        throw new IllegalStateException("entry " + e.getSeq() + " does not replay: " + o);
      }
      kv.apply(a.writes());
    }
    return kv;
  }
}
