package org.anf.sim.check;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.lineage.state.StateDigest;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Mutation;
import org.anf.sim.history.Op;
import org.anf.sim.runner.SimFabric;
import org.anf.sim.workload.SimClient;
import org.jspecify.annotations.Nullable;

/**
 * The checkers: each judges the recorded history (and the state after healing) against one promise
 * of the fabric, and names the operations that break it.
 */
public final class Checks {
  /**
   * How far (ms) an unmarked answer may lag beyond the bound it claims. The client's timestamps
   * bracket the call, so a slow client only widens the window; this absorbs the anchor's own
   * judgement of freshness (it marks itself stale only after an election timeout, 1-2 s, without
   * its leader) and a follower's apply lag. Staleness bugs show as seconds past the bound (the
   * unmark-stale mutant is caught 4 s after the fact), so a loaded CI machine does not need more.
   */
  public static final long TOLERANCE_MS = 1000;

  /**
   * Share of resolves invoked 3 s after the last fault healed that must be answered. The resolver
   * hedges across anchors and serves from its cache when none answers, so nearly all are; the rest
   * is room for a restarted anchor still replaying its log and a resolver still avoiding an anchor
   * that failed it (5 s). A fabric that does not recover answers far less than this.
   */
  public static final double SETTLED_AVAILABILITY_MIN = 0.9;

  private Checks() {}

  /** Runs every checker. */
  public static List<Verdict> all(List<Op> ops, FinalState fin) {
    Map<String, FamilyModel> models = FamilyModel.of(ops);
    List<Verdict> out = new ArrayList<>();
    out.add(acknowledgedWrites(ops, models, fin));
    out.add(convergence(fin));
    out.add(lineage(fin));
    out.add(continuity(models, fin));
    out.add(freshOrStale(ops, models));
    out.add(availability(ops, fin));
    return out;
  }

  /**
   * No acknowledged write is lost. A family write: its mutation is in its scope's lineage (or that
   * scope was merged into its parent after it: the parent's lineage records the child's final
   * position), and its effect (the name bound, renamed, moved or unbound) is what the name answers
   * after healing. A structural change: a lineage entry it authorized shows its commit (SPLIT_OUT,
   * MERGED_IN, MOVED_OUT or MOVED_IN).
   */
  static Verdict acknowledgedWrites(List<Op> ops, Map<String, FamilyModel> models, FinalState fin) {
    Logged logged = Logged.of(fin);
    List<String> problems = new ArrayList<>();
    int acked = 0;
    for (Op op : ops) {
      if (op.kind().isWrite() && op.outcome() == Op.Outcome.REFUSED) {
        String took = tookEffect(op, logged, models, fin);
        if (took != null) {
          problems.add(took);
        }
        continue;
      }
      if (!op.kind().isWrite() || op.outcome() != Op.Outcome.OK) {
        continue;
      }
      acked++;
      String merged = logged.mergedAfter(op);
      if (op.kind().isStructural() || op.kind() == Op.Kind.XMOVE) {
        EffectKind want =
            switch (op.kind()) {
              case SPLIT -> EffectKind.EFFECT_KIND_SPLIT_OUT;
              case MERGE -> EffectKind.EFFECT_KIND_MERGED_IN;
              default -> EffectKind.EFFECT_KIND_MOVED_OUT;
            };
        Set<EffectKind> seen = logged.effectsOf(op.mutationId());
        boolean committed =
            seen.contains(want)
                || (op.kind() == Op.Kind.XMOVE && seen.contains(EffectKind.EFFECT_KIND_MOVED_IN));
        if (!committed && merged == null) {
          problems.add(
              "acknowledged "
                  + op.describe()
                  + " is lost: no lineage entry of transaction "
                  + op.mutationId()
                  + " records its commit ("
                  + want.name().substring("EFFECT_KIND_".length())
                  + ")"
                  + (seen.isEmpty() ? "; none records it at all" : "; entries show only " + seen));
          continue;
        }
        if (op.kind().isStructural()) {
          continue;
        }
      } else if (op.mutationId() != null
          && !logged.ids.contains(op.mutationId())
          && merged == null) {
        problems.add(
            "acknowledged "
                + op.describe()
                + " is lost: its mutation "
                + op.mutationId()
                + " is in no replica's lineage of scope "
                + op.scope()
                + " (nor was that scope merged away after it)");
        continue;
      }
      String name = op.kind().renames() ? op.target() : op.alias();
      if (name == null) {
        continue;
      }
      FamilyModel m = models.get(op.family());
      SimClient.Answer a = fin.answers().get(name);
      if (m == null || a == null) {
        problems.add("acknowledged " + op.describe() + ": its name " + name + " was not read back");
        continue;
      }
      if (!admitted(m.finals(), name, a)) {
        problems.add(
            "acknowledged "
                + op.describe()
                + " is lost: "
                + name
                + " now answers "
                + answerText(a)
                + ", expected "
                + expectText(m.finals(), name));
      }
    }
    return new Verdict(
        "acknowledged-writes",
        "No acknowledged mutation is lost, and no refused one takes effect",
        problems.isEmpty(),
        String.format(
            Locale.ROOT,
            "%d acknowledged writes checked against the lineage and the state after healing; %d"
                + " problems",
            acked,
            problems.size()),
        problems);
  }

  /**
   * Why a refused write shows after all, or null: a structural transaction the client was told
   * aborted whose commit a lineage entry records, or a name that only a refused write would have
   * bound answering as bound.
   */
  private static @Nullable String tookEffect(
      Op op, Logged logged, Map<String, FamilyModel> models, FinalState fin) {
    if (op.kind().isStructural() || op.kind() == Op.Kind.XMOVE) {
      Set<EffectKind> seen = logged.effectsOf(op.mutationId());
      for (EffectKind k :
          List.of(
              EffectKind.EFFECT_KIND_SPLIT_OUT,
              EffectKind.EFFECT_KIND_MERGED_IN,
              EffectKind.EFFECT_KIND_MOVED_OUT,
              EffectKind.EFFECT_KIND_MOVED_IN)) {
        if (seen.contains(k)) {
          return "refused "
              + op.describe()
              + " took effect: the client was told \""
              + op.detail()
              + "\" but a lineage entry of transaction "
              + op.mutationId()
              + " records its commit ("
              + k.name().substring("EFFECT_KIND_".length())
              + ")";
        }
      }
    }
    if (!op.kind().isFamilyWrite()) {
      return null;
    }
    String name = op.kind().renames() ? op.target() : op.alias();
    FamilyModel m = models.get(op.family());
    SimClient.Answer a = name == null ? null : fin.answers().get(name);
    if (name == null || m == null || a == null || m.everIntroduced(name)) {
      return null;
    }
    if (a.outcome() == Op.Outcome.OK && !admitted(m.finals(), name, a)) {
      return "refused "
          + op.describe()
          + " took effect: "
          + name
          + " answers "
          + answerText(a)
          + " after healing, expected "
          + expectText(m.finals(), name);
    }
    return null;
  }

  /** What the lineage of every live replica holds, indexed for the acknowledged-writes check. */
  private static final class Logged {
    private static final Pattern MERGED =
        Pattern.compile("child scope ([0-9a-f]{16}) dissolved at its seq (\\d+)");

    /** Mutation ids of entries, and of the requests that authorized structural steps. */
    final Set<String> ids = new HashSet<>();

    /** Request (transaction) id -> the kinds of effect the steps it authorized had. */
    final Map<String, Set<EffectKind>> effects = new HashMap<>();

    /** Scope id (16 hex digits) of a child merged away -> its last lineage position. */
    final Map<String, Long> mergedAt = new HashMap<>();

    static Logged of(FinalState fin) {
      Logged l = new Logged();
      for (Map<String, List<LineageEntry>> byReplica : fin.lineage().values()) {
        for (List<LineageEntry> chain : byReplica.values()) {
          for (LineageEntry e : chain) {
            l.add(e);
          }
        }
      }
      return l;
    }

    private void add(LineageEntry e) {
      Mutation m = parse(e.getMutation().getMutation());
      if (m == null) {
        return;
      }
      ids.add(hex(m.getMutationId()));
      if (m.hasAuthorization()) {
        Mutation req = parse(m.getAuthorization().getMutation());
        if (req != null) {
          String txn = hex(req.getMutationId());
          ids.add(txn);
          Set<EffectKind> kinds =
              effects.computeIfAbsent(txn, k -> EnumSet.noneOf(EffectKind.class));
          e.getEffect().getItemsList().forEach(i -> kinds.add(i.getKind()));
        }
      }
      for (EffectItem i : e.getEffect().getItemsList()) {
        if (i.getKind() == EffectKind.EFFECT_KIND_MERGED_IN) {
          Matcher mm = MERGED.matcher(i.getDetail());
          if (mm.find()) {
            mergedAt.merge(mm.group(1), Long.parseLong(mm.group(2)), Math::max);
          }
        }
      }
    }

    Set<EffectKind> effectsOf(@Nullable String txn) {
      return txn == null ? Set.of() : effects.getOrDefault(txn, Set.of());
    }

    /** The merge that took the op's scope (with the op's entry in it) away, or null. */
    @Nullable String mergedAfter(Op op) {
      Long at = mergedAt.get(op.scopeId());
      if (at == null || op.seq() <= 0 || at < op.seq()) {
        return null;
      }
      return "scope " + op.scope() + " merged at its seq " + at;
    }

    private static @Nullable Mutation parse(com.google.protobuf.ByteString bytes) {
      try {
        return Mutation.parseFrom(bytes);
      } catch (com.google.protobuf.InvalidProtocolBufferException ex) {
        return null;
      }
    }

    private static String hex(com.google.protobuf.ByteString b) {
      return HexFormat.of().formatHex(b.toByteArray());
    }
  }

  /** Every replica of every group ends with one lineage head and one state digest. */
  public static Verdict convergence(FinalState fin) {
    List<String> problems = new ArrayList<>();
    int n = 0;
    for (var e : fin.replicas().entrySet()) {
      n += e.getValue().size();
      Set<String> distinct = new HashSet<>();
      for (SimFabric.Replica r : e.getValue()) {
        distinct.add(r.headSeq() + "/" + r.headHash() + "/" + r.digest());
      }
      if (distinct.size() > 1) {
        StringBuilder sb = new StringBuilder("scope " + e.getKey() + " did not converge:");
        for (SimFabric.Replica r : e.getValue()) {
          sb.append(
              String.format(
                  Locale.ROOT,
                  " %s at seq %d head %s digest %s;",
                  r.anchor(),
                  r.headSeq(),
                  abbrev(r.headHash()),
                  abbrev(r.digest())));
        }
        problems.add(sb.toString());
      }
    }
    for (String u : fin.unsettled()) {
      problems.add("after healing, " + u);
    }
    if (!fin.converged() && problems.isEmpty()) {
      problems.add("the fabric did not settle (a group without a leader) within the timeout");
    }
    return new Verdict(
        "convergence",
        "Replicas converge to one lineage head and state digest after the faults heal",
        problems.isEmpty(),
        String.format(
            Locale.ROOT, "%d scopes, %d replicas compared after healing", fin.replicas().size(), n),
        problems);
  }

  /** Every replica's lineage verifies (hash links, signatures) and replays to its state. */
  public static Verdict lineage(FinalState fin) {
    List<String> problems = new ArrayList<>();
    long entries = 0;
    HexFormat hex = HexFormat.of();
    for (var scope : fin.lineage().entrySet()) {
      Map<String, String> digests = new HashMap<>();
      for (SimFabric.Replica r : fin.replicas().getOrDefault(scope.getKey(), List.of())) {
        digests.put(r.anchor(), r.digest());
      }
      for (var replica : scope.getValue().entrySet()) {
        List<LineageEntry> chain = replica.getValue();
        entries += chain.size();
        if (chain.isEmpty()) {
          problems.add("scope " + scope.getKey() + " on " + replica.getKey() + " has no lineage");
          continue;
        }
        long start = chain.get(0).getSeq();
        ChainVerifier.Report rep =
            ChainVerifier.verify(
                chain, new ChainVerifier.Options().startSeq(start).replay(start == 1));
        if (!rep.ok()) {
          problems.add(
              "scope " + scope.getKey() + " on " + replica.getKey() + ": lineage fails: " + rep);
          continue;
        }
        if (start == 1) {
          String replayed = hex.formatHex(StateDigest.of(ChainVerifier.rebuild(chain)));
          String held = digests.get(replica.getKey());
          if (held != null && !held.equals(replayed)) {
            problems.add(
                "scope "
                    + scope.getKey()
                    + " on "
                    + replica.getKey()
                    + ": replaying the lineage gives digest "
                    + abbrev(replayed)
                    + " but the replica holds "
                    + abbrev(held));
          }
        }
      }
    }
    return new Verdict(
        "lineage",
        "Lineage verifies: hash-linked, signed, and replays to each replica's state",
        problems.isEmpty(),
        String.format(Locale.ROOT, "%d lineage entries verified across all replicas", entries),
        problems);
  }

  /** Every name ever acknowledged still leads to its UID (or successor) after healing. */
  static Verdict continuity(Map<String, FamilyModel> models, FinalState fin) {
    List<String> problems = new ArrayList<>();
    int checked = 0;
    for (FamilyModel m : models.values()) {
      List<FamilyModel.Version> finals = m.finals();
      for (String name : m.names()) {
        boolean everBound = false;
        for (FamilyModel.Version v : m.versions) {
          if (v.cause() != null && v.cause().outcome() == Op.Outcome.OK && name.equals(v.bound())) {
            everBound = true;
          }
        }
        if (!everBound) {
          continue;
        }
        checked++;
        SimClient.Answer a = fin.answers().get(name);
        if (a == null) {
          problems.add("alias " + name + " was not read back");
          continue;
        }
        if (!admitted(finals, name, a)) {
          problems.add(
              "alias "
                  + name
                  + " (family "
                  + m.family
                  + ") answers "
                  + answerText(a)
                  + " after healing, expected "
                  + expectText(finals, name)
                  + " ("
                  + finals.get(finals.size() - 1).origin()
                  + ")");
        }
      }
    }
    return new Verdict(
        "alias-continuity",
        "Every acknowledged alias resolves to its UID or successor",
        problems.isEmpty(),
        String.format(
            Locale.ROOT,
            "%d acknowledged aliases resolved after healing; %d broken",
            checked,
            problems.size()),
        problems);
  }

  /**
   * Every answer is fresh (a state in effect within the bound it claims, plus {@link
   * #TOLERANCE_MS}) or marked stale (then any state the name had before the answer).
   */
  static Verdict freshOrStale(List<Op> ops, Map<String, FamilyModel> models) {
    List<String> problems = new ArrayList<>();
    int answered = 0;
    int stale = 0;
    for (Op op : ops) {
      if (op.kind() != Op.Kind.RESOLVE || op.outcome() != Op.Outcome.OK) {
        continue;
      }
      answered++;
      if (op.stale()) {
        stale++;
      }
      FamilyModel m = models.get(op.family());
      long from =
          op.stale() ? Long.MIN_VALUE : op.invokedUs() - (op.boundMs() + TOLERANCE_MS) * 1000;
      List<FamilyModel.Version> possible =
          m == null ? List.of(FamilyModel.initial()) : m.during(from, op.completedUs());
      boolean ok = false;
      for (FamilyModel.Version v : possible) {
        if (v.admits(op.alias(), op.status(), op.uid())) {
          ok = true;
          break;
        }
      }
      if (!ok) {
        problems.add(
            op.describe()
                + " ["
                + op.consistency()
                + (op.boundMs() > 0 ? " " + op.boundMs() + " ms" : "")
                + "] answered "
                + op.status()
                + (op.uid() == null ? "" : " " + op.uid())
                + (op.stale() ? " (marked stale)" : " NOT marked stale")
                + ", but "
                + (op.stale() ? "the name never had that state" : "within its bound the name was ")
                + (op.stale() ? "" : expectText(possible, op.alias()))
                + (possible.isEmpty()
                    ? ""
                    : " (" + possible.get(possible.size() - 1).origin() + ")"));
      }
    }
    return new Verdict(
        "fresh-or-stale",
        "Every answer is fresh or marked stale",
        problems.isEmpty(),
        String.format(
            Locale.ROOT,
            "%d answers checked (%d marked stale) against each name's history; %d violations",
            answered,
            stale,
            problems.size()),
        problems);
  }

  /** Resolution comes back once the faults are healed and the fabric has settled. */
  public static Verdict availability(List<Op> ops, FinalState fin) {
    int total = 0;
    int ok = 0;
    int all = 0;
    int allOk = 0;
    for (Op op : ops) {
      if (op.kind() != Op.Kind.RESOLVE) {
        continue;
      }
      all++;
      if (op.outcome() == Op.Outcome.OK) {
        allOk++;
      }
      if (op.invokedS() >= fin.settledFromS() && op.completedS() <= fin.workloadEndS() + 30) {
        total++;
        if (op.outcome() == Op.Outcome.OK) {
          ok++;
        }
      }
    }
    double overall = all == 0 ? 1 : (double) allOk / all;
    double settled = total == 0 ? 1 : (double) ok / total;
    List<String> problems = new ArrayList<>();
    if (total > 0 && settled < SETTLED_AVAILABILITY_MIN) {
      problems.add(
          String.format(
              Locale.ROOT,
              "only %d of %d resolves (%.1f%%) succeeded after %.1f s, when every fault had healed;"
                  + " at least %.0f%% were expected",
              ok,
              total,
              100 * settled,
              fin.settledFromS(),
              100 * SETTLED_AVAILABILITY_MIN));
    }
    return new Verdict(
        "availability",
        "Resolution stays available through faults and recovers after them",
        problems.isEmpty(),
        String.format(
            Locale.ROOT,
            "%.1f%% of %d resolves answered over the run; %s after healing",
            100 * overall,
            all,
            total == 0
                ? "no resolves in the settled window"
                : String.format(Locale.ROOT, "%.1f%% of %d", 100 * settled, total)),
        problems);
  }

  private static boolean admitted(List<FamilyModel.Version> vs, String name, SimClient.Answer a) {
    if (a.outcome() != Op.Outcome.OK) {
      return false;
    }
    for (FamilyModel.Version v : vs) {
      if (v.admits(name, a.status(), a.uid())) {
        return true;
      }
    }
    return false;
  }

  private static String expectText(List<FamilyModel.Version> vs, String name) {
    Set<String> e = new java.util.LinkedHashSet<>();
    vs.forEach(v -> e.add(v.expect(name)));
    return e.isEmpty() ? "nothing" : String.join(" or ", e);
  }

  private static String answerText(SimClient.Answer a) {
    if (a.outcome() != Op.Outcome.OK) {
      return "no answer (" + a.detail() + ")";
    }
    return a.status() + (a.uid() == null ? "" : " " + a.uid()) + (a.stale() ? " (stale)" : "");
  }

  private static String abbrev(String hex) {
    return hex.length() > 12 ? hex.substring(0, 12) : hex;
  }
}
