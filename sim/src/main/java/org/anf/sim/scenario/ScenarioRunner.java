package org.anf.sim.scenario;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.TxnPhase;
import org.anf.sim.check.Checks;
import org.anf.sim.check.FinalState;
import org.anf.sim.check.Verdict;
import org.anf.sim.faults.Links;
import org.anf.sim.faults.Mutant;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.anf.sim.runner.SimFabric;
import org.anf.sim.runner.SimRun;
import org.anf.sim.workload.SimClient;
import org.jspecify.annotations.Nullable;

/**
 * Replays a golden scenario: a text file of commands, each optionally followed by {@code expect}
 * lines that pin what it must give. One runner plays them all; a mismatch fails with the line, what
 * was expected, what came, and the transcript so far.
 *
 * <pre>
 * fabric anchors=3 scopes=1 [mutant=NAME]   first command: starts the fabric
 * bind s0@x via 1                            writes go through client c1, asking anchor 1 first
 * rename s0@x s0@y via 2 | unbind s0@y via 1
 * move s0@y s0@mv via 1                      to NEW_PARENT, keeping the last label; across
 *                                            scopes it runs the structural protocol
 * split s0 g1 [g2...] via 1 | merge s0@g1 via 2
 * resolve s0@x via 1 [consistency=any|bounded|linearizable]   through c1's AnfResolver
 * eventually resolve ...                     repeats (up to 30 s) until the expect below holds
 * partition 1|2,3        partition 1,c1|2,3  cut 1-&gt;2      delay 1-&gt;2 200ms
 * partition 1|2,3 blackhole                  cut 1-&gt;2 blackhole: silent, not refused
 * crash 2     restart 2     heal     stabilize     wait 3s
 * await leader 2,3                           until one of them leads every scope they govern
 * await stale 1                              until anchor 1 marks its own answers stale
 * check                                      runs every checker over the scenario's history
 * expect ok | refused | indeterminate | EXACT [stale|fresh] | REDIRECTED | NOT_FOUND
 * expect check NAME pass|fail [with TEXT]    expect checks pass
 * </pre>
 */
public final class ScenarioRunner implements AutoCloseable {
  /** A scenario that did not go as its file says. */
  public static final class Mismatch extends RuntimeException {
    private static final long serialVersionUID = 1L;

    Mismatch(String message) {
      super(message);
    }
  }

  private final String name;
  private final StringBuilder transcript = new StringBuilder();
  private @Nullable SimFabric fabric;
  private Mutant mutant = Mutant.NONE;
  private final History history = new History(System.nanoTime());
  private final Map<String, SimClient> clients = new HashMap<>();
  private final Map<String, String> familyOf = new HashMap<>();
  private final Map<String, String> uidNames = new HashMap<>();
  private final MutationFactory factory =
      new MutationFactory(new Random(7), System::currentTimeMillis);

  /** How long a structural request may take in a scenario, retries included. */
  private static final long STRUCTURE_TIMEOUT_MS = 30_000;

  private @Nullable Result last;
  private List<Verdict> verdicts = List.of();

  /** What the last command gave, in the words {@code expect} uses. */
  private record Result(String outcome, @Nullable String status, boolean stale, String text) {}

  private ScenarioRunner(String name) {
    this.name = name;
  }

  /** Plays a scenario file; throws {@link Mismatch} on the first unmet expectation. */
  public static String run(Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    try (ScenarioRunner r = new ScenarioRunner(file.getFileName().toString())) {
      r.play(lines);
      return r.transcript.toString();
    }
  }

  private void play(List<String> lines) {
    String pending = null;
    int pendingLine = 0;
    for (int i = 0; i < lines.size(); i++) {
      String line = strip(lines.get(i));
      if (line.isEmpty()) {
        continue;
      }
      if (line.startsWith("expect ")) {
        if (pending != null && pending.startsWith("eventually ")) {
          long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          while (!holds(line) && System.nanoTime() < deadline) {
            pause(250);
            execute(pending.substring("eventually ".length()), pendingLine);
          }
        }
        expect(line, i + 1);
        continue;
      }
      pending = line;
      pendingLine = i + 1;
      execute(
          line.startsWith("eventually ") ? line.substring("eventually ".length()) : line, i + 1);
    }
  }

  private static String strip(String l) {
    int hash = l.indexOf('#');
    return (hash >= 0 ? l.substring(0, hash) : l).trim();
  }

  private void execute(String line, int lineNo) {
    String[] w = line.split("\\s+");
    transcript.append("> ").append(line).append('\n');
    Result r;
    try {
      r =
          switch (w[0]) {
            case "fabric" -> fabric(w);
            case "bind", "rename", "move", "unbind" -> write(w);
            case "split" -> split(w);
            case "merge" -> merge(w);
            case "resolve" -> resolve(w);
            case "partition" -> partition(line.substring("partition".length()));
            case "cut" -> cut(w);
            case "delay" -> delay(w);
            case "crash" -> {
              fabric().crash(anchor(w[1]));
              yield note("crashed " + anchor(w[1]));
            }
            case "restart" -> {
              fabric().restart(anchor(w[1]));
              yield note("restarted " + anchor(w[1]));
            }
            case "heal" -> {
              fabric().links().healAll();
              yield note("links healed");
            }
            case "stabilize" -> {
              boolean ok = fabric().stabilize(Duration.ofSeconds(60));
              yield new Result(
                  ok ? "ok" : "indeterminate",
                  null,
                  false,
                  ok
                      ? "converged"
                      : "did not settle within 60 s: "
                          + String.join("; ", fabric().whyNotSettled()));
            }
            case "await" -> {
              if (w.length == 3 && w[1].equals("stale")) {
                String a = anchor(w[2]);
                boolean ok = fabric().awaitStale(a, Duration.ofSeconds(60));
                yield new Result(
                    ok ? "ok" : "indeterminate",
                    null,
                    false,
                    ok
                        ? a + " marks its answers stale"
                        : a + " did not mark its answers stale within 60 s");
              }
              if (w.length < 3 || !w[1].equals("leader")) {
                throw new IllegalArgumentException(
                    "await leader ANCHOR,ANCHOR... or await stale ANCHOR");
              }
              List<String> among = new ArrayList<>();
              for (String a : w[2].split(",")) {
                among.add(anchor(a.trim()));
              }
              boolean ok = fabric().awaitLeaderAmong(among, Duration.ofSeconds(60));
              yield new Result(
                  ok ? "ok" : "indeterminate",
                  null,
                  false,
                  ok ? "a leader among " + among : "no leader among " + among + " within 60 s");
            }
            case "wait" -> {
              pause(org.anf.sim.runner.SimOptions.parseDuration(w[1]));
              yield note("waited " + w[1]);
            }
            case "check" -> check();
            default -> throw new IllegalArgumentException("unknown command '" + w[0] + "'");
          };
    } catch (IllegalArgumentException
        | ArrayIndexOutOfBoundsException
        | org.anf.lineage.error.AnfException e) {
      throw new Mismatch(name + ":" + lineNo + ": cannot run '" + line + "': " + e.getMessage());
    }
    last = r;
    transcript.append(r.text()).append('\n');
  }

  private static Result note(String text) {
    return new Result("ok", null, false, text);
  }

  private SimFabric fabric() {
    SimFabric f = fabric;
    if (f == null) {
      throw new IllegalArgumentException("start with a 'fabric' line");
    }
    return f;
  }

  private Result fabric(String[] w) {
    int anchors = 3;
    int scopes = 1;
    for (int i = 1; i < w.length; i++) {
      String[] kv = w[i].split("=", 2);
      switch (kv[0]) {
        case "anchors" -> anchors = Integer.parseInt(kv[1]);
        case "scopes" -> scopes = Integer.parseInt(kv[1]);
        case "mutant" -> mutant = Mutant.parse(kv[1]);
        default -> throw new IllegalArgumentException("unknown fabric option '" + kv[0] + "'");
      }
    }
    try {
      fabric =
          SimFabric.start(
              Files.createTempDirectory("anf-scenario-"), true, anchors, scopes, mutant);
    } catch (IOException e) {
      throw new IllegalArgumentException("no temp dir: " + e.getMessage());
    }
    return note(
        anchors
            + " anchors, "
            + scopes
            + " scopes"
            + (mutant == Mutant.NONE ? "" : ", mutant " + mutant.flag()));
  }

  private String anchor(String s) {
    String a = s.startsWith("a") ? s : "a" + s;
    fabric().index(a);
    return a;
  }

  private String endpoint(String s) {
    return s.startsWith("c") ? s : anchor(s);
  }

  /** The client c1 asking {@code via} first. */
  private SimClient client(String via) {
    String a = anchor(via);
    // A long hedge delay: the anchor named by "via" answers unless it fails.
    return clients.computeIfAbsent(
        a, x -> fabric().client("c1", fabric().index(x), 6000, Duration.ofSeconds(1)));
  }

  private static String option(String[] w, String key, String dflt) {
    for (int i = 0; i < w.length - 1; i++) {
      if (w[i].equals(key)) {
        return w[i + 1];
      }
    }
    for (String s : w) {
      if (s.startsWith(key + "=")) {
        return s.substring(key.length() + 1);
      }
    }
    return dflt;
  }

  private Result write(String[] w) {
    String kind = w[0];
    String alias = w[1];
    String via = option(w, "via", "1");
    String to =
        switch (kind) {
          case "rename" -> w[2];
          case "move" -> {
            Alias from = Alias.parse(alias);
            yield Alias.parse(w[2]).concat(List.of(from.label(from.size() - 1))).text();
          }
          default -> null;
        };
    SimClient c = client(via);
    SimFabric.Scope top = scopeOf(alias);
    SimClient.Located at = locate(c, alias);
    String family = familyOf.computeIfAbsent(alias, a -> a);
    if (to != null) {
      familyOf.put(to, family);
    }
    Op.Kind opKind = Op.Kind.valueOf(kind.toUpperCase(Locale.ROOT));
    Mutation m;
    SimClient.WriteResult res;
    long inv;
    SimClient.Located there = to != null && kind.equals("move") ? locate(c, to) : null;
    if (there != null && to != null && there.scopeId() != at.scopeId()) {
      SimFabric.Scope dst = scopeOf(to);
      m =
          factory
              .base(at.scopeId())
              .setMutationId(factory.randomBytes(16))
              .setMove(
                  Move.newBuilder()
                      .setFrom(Alias.parse(alias).toProto())
                      .setTo(Alias.parse(to).toProto())
                      .setPhase(TxnPhase.TXN_PHASE_PREPARE)
                      .setPeerScopeId(there.scopeId()))
              .build();
      List<String> coordinators = new ArrayList<>(top.anchors());
      coordinators.retainAll(dst.anchors());
      opKind = Op.Kind.XMOVE;
      inv = history.nowUs();
      res = c.structure("move", sign(m), coordinators, at.scopeId(), STRUCTURE_TIMEOUT_MS);
    } else {
      long sid = at.scopeId();
      m =
          switch (kind) {
            case "bind" ->
                factory.bind(
                    sid,
                    Alias.parse(alias),
                    ObjectRecord.newBuilder()
                        .addEndpoints(Endpoint.newBuilder().setHost("10.0.0.1").setPort(443))
                        .build());
            case "rename" -> factory.rename(sid, Alias.parse(alias), Alias.parse(req(to)));
            case "move" -> factory.moveLocal(sid, Alias.parse(alias), Alias.parse(req(to)));
            default -> factory.unbind(sid, Alias.parse(alias));
          };
      inv = history.nowUs();
      res = c.submit(sign(m), top.anchors());
    }
    history.add(
        new Op(
            history.nextId(),
            "c1",
            opKind,
            family,
            alias,
            to,
            at.path(),
            ScopeIds.text(at.scopeId()),
            res.seq(),
            inv,
            history.nowUs(),
            res.outcome(),
            res.uid(),
            null,
            false,
            0,
            "",
            0,
            res.via(),
            HexFormat.of().formatHex(m.getMutationId().toByteArray()),
            res.detail()));
    return writeResult(res, opKind == Op.Kind.XMOVE ? "cross-scope, " : "");
  }

  private Result writeResult(SimClient.WriteResult res, String note) {
    String outcome = res.outcome().name().toLowerCase(Locale.ROOT);
    return new Result(
        outcome,
        null,
        false,
        outcome
            + (res.uid() == null ? "" : " " + uidName(res.uid()))
            + (res.outcome() == Op.Outcome.OK && note.isEmpty()
                ? ""
                : " (" + note + res.detail() + ")"));
  }

  /** {@code split SCOPE CHILD... [via N]}: the top-level SCOPE's entries under each CHILD label. */
  private Result split(String[] w) {
    SimFabric.Scope top = fabric().scope(w[1]);
    List<String> labels = new ArrayList<>();
    for (int i = 2; i < w.length && !w[i].equals("via"); i++) {
      labels.add(w[i]);
    }
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("split SCOPE CHILD... names at least one child label");
    }
    List<SplitChild> children = new ArrayList<>();
    Policy policy = Policies.ownedBy(fabric().admin().publicKey());
    for (String l : labels) {
      children.add(
          factory.splitChild(top.id(), Alias.parse(top.name()), l, top.anchorMap(), policy));
    }
    ByteString txn = factory.randomBytes(16);
    Mutation m =
        factory.split(top.id(), TxnPhase.TXN_PHASE_LOCAL, txn, children).toBuilder()
            .setMutationId(txn)
            .build();
    List<String> made = new ArrayList<>();
    labels.forEach(l -> made.add(top.name() + "@" + l));
    return structural(
        Op.Kind.SPLIT, top.name(), String.join(",", made), m, top, option(w, "via", "1"));
  }

  /** {@code merge CHILD [via N]}: a child split out of a top-level scope, back into it. */
  private Result merge(String[] w) {
    String child = w[1];
    SimFabric.Scope top = scopeOf(child);
    SimClient c = client(option(w, "via", "1"));
    SimClient.Located at = locate(c, child + "/x");
    if (at.scopeId() == top.id()) {
      throw new IllegalArgumentException("'" + child + "' is not a child scope of " + top.name());
    }
    Mutation m =
        factory
            .base(top.id())
            .setMutationId(factory.randomBytes(16))
            .setMerge(
                Merge.newBuilder()
                    .setChildScopeId(at.scopeId())
                    .setChild(Alias.parse(child).toProto())
                    .setPhase(TxnPhase.TXN_PHASE_PREPARE))
            .build();
    return structural(Op.Kind.MERGE, child, top.name(), m, top, option(w, "via", "1"));
  }

  private Result structural(
      Op.Kind kind, String alias, String target, Mutation m, SimFabric.Scope top, String via) {
    SimClient c = client(via);
    long inv = history.nowUs();
    SimClient.WriteResult res =
        c.structure(kind.label(), sign(m), top.anchors(), top.id(), STRUCTURE_TIMEOUT_MS);
    history.add(
        new Op(
            history.nextId(),
            "c1",
            kind,
            "",
            alias,
            target,
            top.name(),
            ScopeIds.text(top.id()),
            res.seq(),
            inv,
            history.nowUs(),
            res.outcome(),
            null,
            null,
            false,
            0,
            "",
            0,
            res.via(),
            HexFormat.of().formatHex(m.getMutationId().toByteArray()),
            res.detail()));
    return writeResult(res, "");
  }

  private SignedMutation sign(Mutation m) {
    return Signing.sign(m, fabric().admin());
  }

  /** The scope governing {@code alias} now, as the client's first reachable anchor sees it. */
  private SimClient.Located locate(SimClient c, String alias) {
    SimFabric.Scope top = scopeOf(alias);
    SimClient.Located l = c.locate(alias, top.id(), top.name(), top.anchors());
    return l != null ? l : new SimClient.Located(top.id(), top.name());
  }

  private static String req(@Nullable String s) {
    if (s == null) {
      throw new IllegalArgumentException("a rename or move names where to");
    }
    return s;
  }

  private SimFabric.Scope scopeOf(String alias) {
    return fabric().scope(Alias.parse(alias).labels().get(0));
  }

  private String uidName(@Nullable String uid) {
    if (uid == null) {
      return "";
    }
    return uidNames.computeIfAbsent(uid, u -> "u" + (uidNames.size() + 1));
  }

  private Result resolve(String[] w) {
    String alias = w[1];
    String via = option(w, "via", "1");
    String c = option(w, "consistency", "linearizable").toLowerCase(Locale.ROOT);
    Consistency consistency =
        switch (c) {
          case "any" -> Consistency.CONSISTENCY_ANY;
          case "bounded" -> Consistency.CONSISTENCY_BOUNDED;
          case "linearizable" -> Consistency.CONSISTENCY_LINEARIZABLE;
          default ->
              throw new IllegalArgumentException("consistency is any, bounded or linearizable");
        };
    int bound =
        consistency == Consistency.CONSISTENCY_LINEARIZABLE
            ? 0
            : consistency == Consistency.CONSISTENCY_BOUNDED ? 1000 : 2000;
    long inv = history.nowUs();
    SimClient.Answer a = client(via).resolve(alias, consistency, bound);
    history.add(
        new Op(
            history.nextId(),
            "c1",
            Op.Kind.RESOLVE,
            familyOf.getOrDefault(alias, alias),
            alias,
            null,
            scopeOf(alias).name(),
            "",
            0,
            inv,
            history.nowUs(),
            a.outcome(),
            a.uid(),
            a.status(),
            a.stale(),
            a.ageMs(),
            consistency.name().substring("CONSISTENCY_".length()),
            bound,
            a.via(),
            null,
            a.detail()));
    if (a.outcome() != Op.Outcome.OK) {
      return new Result(
          a.outcome().name().toLowerCase(Locale.ROOT), null, false, "unavailable: " + a.detail());
    }
    return new Result(
        "ok",
        a.status(),
        a.stale(),
        a.status()
            + (a.uid() == null ? "" : " " + uidName(a.uid()))
            + (a.stale() ? " stale" : " fresh"));
  }

  private Result partition(String spec) {
    String[] words = spec.trim().split("\\s+");
    Links.DropMode mode = dropMode(words, 1);
    String[] sides = words[0].split("\\|");
    if (sides.length != 2) {
      throw new IllegalArgumentException("a partition is SIDE|SIDE, e.g. 1|2,3");
    }
    List<String> a = new ArrayList<>();
    List<String> b = new ArrayList<>();
    for (String s : sides[0].split(",")) {
      a.add(endpoint(s.trim()));
    }
    for (String s : sides[1].split(",")) {
      b.add(endpoint(s.trim()));
    }
    fabric().links().partition(a, b, mode);
    return note("partitioned " + a + " from " + b + describe(mode));
  }

  private Result cut(String[] w) {
    String[] ends = w[1].split("->");
    Links.DropMode mode = dropMode(w, 2);
    fabric().links().cut(endpoint(ends[0]), endpoint(ends[1]), mode);
    return note("cut " + w[1] + describe(mode));
  }

  /** {@code blackhole} after a cut: silent (callers time out); otherwise refused at once. */
  private static Links.DropMode dropMode(String[] w, int at) {
    if (w.length <= at) {
      return Links.DropMode.FAIL_FAST;
    }
    if (w.length == at + 1 && w[at].equals("blackhole")) {
      return Links.DropMode.BLACKHOLE;
    }
    throw new IllegalArgumentException(
        "after the links, only 'blackhole' may follow, not '"
            + String.join(" ", List.of(w).subList(at, w.length))
            + "'");
  }

  private static String describe(Links.DropMode mode) {
    return mode == Links.DropMode.BLACKHOLE ? " (blackhole)" : "";
  }

  private Result delay(String[] w) {
    String[] ends = w[1].split("->");
    long ms = org.anf.sim.runner.SimOptions.parseDuration(w[2]);
    fabric().links().delay(endpoint(ends[0]), endpoint(ends[1]), ms);
    return note("delayed " + w[1] + " by " + ms + " ms");
  }

  private Result check() {
    SimFabric f = fabric();
    boolean converged = f.stabilize(Duration.ofSeconds(60));
    double now = history.nowUs() / 1e6;
    FinalState fin = SimRun.finalState(f, history.ops(), converged, now, now);
    verdicts = Checks.all(history.ops(), fin);
    StringBuilder sb = new StringBuilder();
    for (Verdict v : verdicts) {
      sb.append(v.ok() ? "PASS " : "FAIL ").append(v.name()).append(": ").append(v.summary());
      for (String p : v.problems()) {
        sb.append("\n    ").append(p);
      }
      sb.append('\n');
    }
    boolean all = verdicts.stream().allMatch(Verdict::ok);
    return new Result(all ? "ok" : "failed", null, false, sb.toString().trim());
  }

  private boolean holds(String expectLine) {
    try {
      expect(expectLine, 0);
      return true;
    } catch (Mismatch e) {
      return false;
    }
  }

  private void expect(String line, int lineNo) {
    Result r = last;
    if (r == null) {
      throw new Mismatch(name + ":" + lineNo + ": 'expect' before any command");
    }
    String[] w = line.substring("expect ".length()).trim().split("\\s+");
    boolean ok;
    String want = String.join(" ", w);
    switch (w[0]) {
      case "ok", "refused", "indeterminate", "failed" -> ok = r.outcome().equals(w[0]);
      case "checks" -> ok = !verdicts.isEmpty() && verdicts.stream().allMatch(Verdict::ok);
      case "check" -> {
        boolean wantPass = w[2].equals("pass");
        int with = line.indexOf(" with ");
        String text = with < 0 ? null : line.substring(with + " with ".length()).trim();
        ok = false;
        for (Verdict v : verdicts) {
          if (v.name().equals(w[1])) {
            ok =
                v.ok() == wantPass
                    && (text == null
                        || v.problems().stream().anyMatch(p -> p.contains(text))
                        || v.summary().contains(text));
          }
        }
      }
      default -> {
        ok = w[0].equals(r.status());
        if (ok && w.length > 1) {
          ok = w[1].equals("stale") == r.stale();
        }
      }
    }
    if (!ok) {
      throw new Mismatch(
          name
              + ":"
              + lineNo
              + ": expected '"
              + want
              + "' but got '"
              + r.text()
              + "'\ntranscript:\n"
              + transcript);
    }
    transcript.append("  (expect ").append(want).append(": ok)\n");
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    clients.values().forEach(SimClient::close);
    SimFabric f = fabric;
    if (f != null) {
      f.close();
    }
  }
}
