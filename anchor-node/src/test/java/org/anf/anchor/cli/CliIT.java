package org.anf.anchor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.dev.DevFabric;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyText;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.transition.Transitions;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import picocli.CommandLine;

/**
 * The anf command line, run in process against one real dev fabric on OS-chosen ports, shared by
 * the tests (each uses its own names and scopes). Anchor a3 can be held back from applying one
 * scope (fault injection) to make it lag.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CliIT {
  static final Duration WAIT = Duration.ofSeconds(60);

  Path dir;
  DevFabric.Options opts;
  DevFabric fabric;
  final ApplyGate gate = new ApplyGate();

  record Run(int code, String out, String err) {}

  /** Holds back applies of one scope on one node until released (fault injection). */
  static final class ApplyGate {
    private volatile int node = -1;
    private volatile long scope;
    private volatile CountDownLatch open = new CountDownLatch(0);

    ScopeRegistry.ApplyHook hookFor(int n) {
      return (s, index) -> {
        if (n == node && s == scope) {
          try {
            // Bounded, so a failing test cannot wedge the node's shutdown.
            open.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
    }

    void close(int n, long s) {
      open = new CountDownLatch(1);
      scope = s;
      node = n;
    }

    void release() {
      node = -1;
      open.countDown();
    }
  }

  AnchorNode.Hooks hooks(int i) {
    return AnchorNode.Hooks.applies(gate.hookFor(i));
  }

  @BeforeAll
  void start() throws IOException {
    dir = Files.createTempDirectory("anf-cli-");
    opts = DevFabric.Options.ephemeral(dir.resolve("data"), 3);
    fabric = DevFabric.start(opts, this::hooks);
  }

  @AfterAll
  void stop() throws IOException {
    gate.release();
    if (fabric != null) {
      fabric.close();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  Run anf(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    boolean client =
        !List.of("keygen", "dev", "anchor", "demo", "help", "--help", "--version")
            .contains(args[0]);
    boolean restore = args.length > 1 && args[0].equals("snapshot") && args[1].equals("restore");
    if (client && !restore) {
      if (all.stream().noneMatch(a -> a.startsWith("--server"))) {
        all.add("--server=" + fabric.nodes().get(0).address());
      }
      if (all.stream().noneMatch(a -> a.startsWith("--key"))) {
        all.add("--key=" + fabric.keyFile());
      }
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        Anf.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  /** Runs and expects exit 0. */
  Run ok(String... args) {
    Run r = anf(args);
    assertThat(r.code()).as("anf %s\n%s%s", String.join(" ", args), r.out(), r.err()).isZero();
    return r;
  }

  private static JsonObject parse(Run run) {
    String out = run.out().strip();
    assertThat(out).as("one JSON object on stdout; stderr: %s", run.err()).doesNotContain("\n");
    return JsonParser.parseString(out).getAsJsonObject();
  }

  static void await(String what, BooleanSupplier done) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting: " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** "scope KIND" for each entry of a lineage --json answer, in order. */
  private static List<String> steps(JsonObject lineage) {
    List<String> out = new ArrayList<>();
    for (JsonElement e : lineage.get("entries").getAsJsonArray()) {
      JsonObject o = e.getAsJsonObject();
      out.add(
          o.get("scope").getAsString()
              + " "
              + o.get("effects")
                  .getAsJsonArray()
                  .get(0)
                  .getAsJsonObject()
                  .get("kind")
                  .getAsString());
    }
    return out;
  }

  private static List<String> inScope(List<String> steps, String scope) {
    List<String> out = new ArrayList<>();
    for (String s : steps) {
      if (s.startsWith(scope + " ")) {
        out.add(s.substring(scope.length() + 1));
      }
    }
    return out;
  }

  private long scopeId(String scope) {
    JsonObject list = parse(ok("anchors", scope, "list", "--json"));
    return ScopeIds.parse(list.get("scopeId").getAsString());
  }

  /** Every anchor has applied the scope's head as the first one reports it. */
  private void awaitConverged(long scope) {
    await(
        "anchors converge on scope " + ScopeIds.text(scope),
        () -> {
          long top = -1;
          for (int i = 0; i < fabric.nodes().size(); i++) {
            long head = head(i, scope);
            if (head < 1 || (top >= 0 && head != top)) {
              return false;
            }
            top = head;
          }
          return true;
        });
  }

  /** The lineage head anchor i has applied for a scope (-1: not loaded there). */
  private long head(int i, long scope) {
    try {
      var sm = fabric.nodes().get(i).scope(scope);
      return sm == null || !sm.state().exists() ? -1 : sm.state().headSeq();
    } catch (RuntimeException e) {
      return -1; // starting or stopping
    }
  }

  @Test
  void resolvePrintsTheJsonContractTraceAndExitCodes() {
    Run bind = ok("bind", "svc@demo/web", "--endpoint", "10.9.9.9:443", "--attr", "env=prod");
    String uid = bind.out().strip();

    // Every field of the contract (ARCHITECTURE.md, CLI contract), by name and type.
    JsonObject o = parse(ok("resolve", "svc@demo/web", "--json"));
    assertThat(o.keySet())
        .contains(
            "alias",
            "uid",
            "status",
            "canonicalAlias",
            "resolved",
            "remaining",
            "stale",
            "provisional",
            "ageMs",
            "lineageSeq",
            "path",
            "record");
    assertThat(o.get("alias").getAsString()).isEqualTo("svc@demo/web");
    assertThat(o.get("uid").getAsString()).isEqualTo(uid);
    assertThat(o.get("status").getAsString()).isEqualTo("EXACT");
    assertThat(o.get("canonicalAlias").getAsString()).isEqualTo("svc@demo/web");
    assertThat(o.get("resolved").isJsonNull() || o.get("resolved").isJsonPrimitive()).isTrue();
    assertThat(o.get("remaining").getAsJsonArray()).isEmpty();
    assertThat(o.get("stale").getAsBoolean()).isFalse();
    assertThat(o.get("provisional").getAsBoolean()).isFalse();
    assertThat(o.get("ageMs").getAsLong()).isNotNegative();
    assertThat(o.get("lineageSeq").getAsLong()).isPositive();
    JsonArray path = o.get("path").getAsJsonArray();
    List<String> scopes = new ArrayList<>();
    for (JsonElement e : path) {
      JsonObject step = e.getAsJsonObject();
      scopes.add(step.get("scope").getAsString());
      assertThat(step.get("anchor").getAsString()).isIn("a1", "a2", "a3");
      assertThat(step.get("lineageSeq").getAsLong()).isPositive();
    }
    assertThat(scopes).containsExactly("(root)", "svc", "svc@demo");
    JsonObject record = o.get("record").getAsJsonObject();
    assertThat(record.get("kind").getAsString()).isNotEmpty();
    assertThat(record.get("endpoints").getAsJsonArray())
        .extracting(JsonElement::getAsString)
        .containsExactly("10.9.9.9:443");
    assertThat(record.get("attributes").getAsJsonObject().get("env").getAsString())
        .isEqualTo("prod");
    assertThat(record.get("ttlSeconds").getAsLong()).isNotNegative();

    Run trace = ok("resolve", "svc@demo/web", "--trace", "--consistency", "linearizable");
    assertThat(trace.out()).contains(";; (root)").contains(";; svc@demo").contains("EXACT");

    Run missing = anf("resolve", "svc@demo/none");
    assertThat(missing.code()).isEqualTo(Anf.NOT_FOUND);
    assertThat(missing.out()).contains("NOT_FOUND");
    JsonObject none = parse(anf("resolve", "svc@demo/none", "--json"));
    assertThat(none.get("status").getAsString()).isEqualTo("NOT_FOUND");
    assertThat(none.get("uid").isJsonNull()).isTrue();
    assertThat(none.get("record").isJsonNull()).isTrue();

    ok("rename", "svc@demo/web", "svc@demo/web2");
    JsonObject moved =
        parse(ok("resolve", "svc@demo/web", "--json", "--consistency", "linearizable"));
    assertThat(moved.get("status").getAsString()).isEqualTo("REDIRECTED");
    assertThat(moved.get("uid").getAsString()).isEqualTo(uid);
    assertThat(moved.get("canonicalAlias").getAsString()).isEqualTo("svc@demo/web2");

    Run bad = anf("resolve", "svc@@x");
    assertThat(bad.code()).isEqualTo(Anf.USAGE);
    assertThat(bad.err().strip()).startsWith("anf: 'svc@@x' at position 4").doesNotContain("\n");

    // Errors under --json are one object too, with the same exit status.
    Run badJson = anf("resolve", "svc@@x", "--json");
    assertThat(badJson.code()).isEqualTo(Anf.USAGE);
    JsonObject badErr = parse(badJson);
    assertThat(badErr.get("alias").getAsString()).isEqualTo("svc@@x");
    JsonObject err = badErr.get("error").getAsJsonObject();
    assertThat(err.get("code").getAsString()).isEqualTo("ALIAS_SYNTAX");
    assertThat(err.get("grpcCode").getAsString()).isEqualTo("INVALID_ARGUMENT");
    assertThat(err.get("message").getAsString()).contains("position 4");
    assertThat(err.get("position").getAsInt()).isEqualTo(4);

    Run badLevel = anf("resolve", "svc@demo/web", "--consistency", "sometimes");
    assertThat(badLevel.code()).isEqualTo(Anf.USAGE);
    assertThat(badLevel.err()).contains("--consistency");
    Run badLevelJson = anf("resolve", "svc@demo/web", "--consistency", "sometimes", "--json");
    assertThat(badLevelJson.code()).isEqualTo(Anf.USAGE);
    assertThat(parse(badLevelJson).get("error").getAsJsonObject().get("field").getAsString())
        .isEqualTo("--consistency");

    Run down = anf("resolve", "svc@demo/web", "--server=127.0.0.1:1", "--timeout", "2");
    assertThat(down.code()).isEqualTo(Anf.UNAVAILABLE);
    assertThat(down.err()).contains("no anchor");
    Run downJson =
        anf("resolve", "svc@demo/web", "--server=127.0.0.1:1", "--timeout", "2", "--json");
    assertThat(downJson.code()).isEqualTo(Anf.UNAVAILABLE);
    JsonObject downErr = parse(downJson).get("error").getAsJsonObject();
    assertThat(downErr.get("code").getAsString()).isEqualTo("UNAVAILABLE");
    assertThat(downErr.get("grpcCode").getAsString()).isEqualTo("UNAVAILABLE");
    assertThat(downErr.get("position").isJsonNull()).isTrue();
  }

  /** One exit status table for every command: internal errors are 4, never 1 (not found). */
  @Test
  void everyCommandMapsErrorsToTheSameExitStatus() {
    assertThat(Anf.exitCode(ErrorCode.INTERNAL)).isEqualTo(Anf.INTERNAL).isEqualTo(4);
    assertThat(Anf.exitCode(ErrorCode.CORRUPTION)).isEqualTo(4);
    assertThat(Anf.exitCode(ErrorCode.NOT_FOUND)).isEqualTo(Anf.NOT_FOUND);
    assertThat(Anf.exitCode(ErrorCode.UNKNOWN_SCOPE)).isEqualTo(Anf.NOT_FOUND);
    assertThat(Anf.exitCode(ErrorCode.TIMEOUT)).isEqualTo(Anf.UNAVAILABLE);
    assertThat(Anf.exitCode(ErrorCode.PRECONDITION_FAILED)).isEqualTo(Anf.USAGE);
    assertThat(Anf.exitCode(ErrorCode.NOT_AUTHORIZED)).isEqualTo(Anf.USAGE);

    // An unexpected exception in any command: one line, exit 4.
    CommandLine cl = Anf.commandLine();
    cl.addSubcommand("explode", new Exploding());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true)).setErr(new PrintWriter(err, true));
    assertThat(cl.execute("explode")).isEqualTo(Anf.INTERNAL);
    assertThat(err.toString().strip())
        .isEqualTo("anf: internal error: java.lang.IllegalStateException: boom")
        .doesNotContain("\n");

    // Documented where every command's user sees it.
    String help = anf("--help").out().replaceAll("\\s+", " ");
    assertThat(help)
        .contains("Exit status (every command):")
        .contains("0 success, or found")
        .contains("1 not found")
        .contains("2 usage or input error")
        .contains("3 unavailable")
        .contains("4 internal error");
    assertThat(anf("resolve", "--help").out().replaceAll("\\s+", " ")).contains("4 internal error");
  }

  @CommandLine.Command(name = "explode")
  static final class Exploding implements Runnable {
    @Override
    public void run() {
      throw new IllegalStateException("boom");
    }
  }

  @Test
  void bindLineageAndErrorsWithExitCodes() {
    Run bind = ok("bind", "svc@demo/hello", "--endpoint", "127.0.0.1:8080");
    String uid = bind.out().strip();
    assertThat(uid).matches("uid:[0-9a-f]{16}-0000-[0-9a-f]{12}");

    Run lineage = ok("lineage", "svc@demo/hello");
    assertThat(lineage.out())
        .startsWith("svc@demo/hello  " + uid + "\n")
        .contains("svc@demo #")
        .contains("BOUND svc@demo/hello " + uid);

    Run verify = ok("lineage", "svc@demo/hello", "--verify");
    assertThat(verify.out())
        .contains("verify svc@demo a1")
        .contains("verify svc@demo a3")
        .contains("lineage verifies");

    Run json =
        ok("bind", "svc@demo/api", "--endpoint", "[::1]:443/tcp", "--attr", "team=core", "--json");
    assertThat(json.out())
        .startsWith("{\"alias\":\"svc@demo/api\",\"uid\":\"uid:")
        .contains("\"scope\":\"svc@demo\"");

    Run again = anf("bind", "svc@demo/hello");
    assertThat(again.code()).isEqualTo(Anf.USAGE);
    assertThat(again.err().strip()).isEqualTo("anf: 'svc@demo/hello' is already bound to " + uid);

    Run bad = anf("bind", "svc@de!mo");
    assertThat(bad.code()).isEqualTo(Anf.USAGE);
    assertThat(bad.err().strip()).isEqualTo("anf: 'svc@de!mo' at position 6: unexpected '!'");
    assertThat(bad.err().lines().count()).isEqualTo(1);

    Run badEndpoint = anf("bind", "svc@demo/x", "--endpoint", "127.0.0.1:99999");
    assertThat(badEndpoint.code()).isEqualTo(Anf.USAGE);
    assertThat(badEndpoint.err()).contains("port outside 1..65535");

    Run unbind = ok("unbind", "svc@demo/api");
    assertThat(unbind.out()).startsWith("retired uid:");
    Run notBound = anf("unbind", "svc@demo/nothing");
    assertThat(notBound.code()).isEqualTo(Anf.NOT_FOUND);

    // unbind --json: alias, uid, status, lineageSeq, lineageHash.
    String apiUid = ok("bind", "svc@demo/api2").out().strip();
    JsonObject un = parse(ok("unbind", "svc@demo/api2", "--json"));
    assertThat(un.get("alias").getAsString()).isEqualTo("svc@demo/api2");
    assertThat(un.get("uid").getAsString()).isEqualTo(apiUid);
    assertThat(un.get("status").getAsString()).isEqualTo("RETIRED");
    assertThat(un.get("lineageSeq").getAsLong()).isPositive();
    assertThat(un.get("lineageHash").getAsString()).matches("[0-9a-f]{64}");
    // The retired alias's history: bound, then retired.
    JsonObject retired = parse(ok("lineage", "svc@demo/api2", "--json"));
    assertThat(inScope(steps(retired), "svc@demo")).containsExactly("BOUND", "RETIRED");

    Run nothing = anf("lineage", "svc@demo/never-bound");
    assertThat(nothing.code()).isEqualTo(Anf.NOT_FOUND);
    assertThat(nothing.out()).contains("no entries concern it");

    Run usage = anf("bind");
    assertThat(usage.code()).isEqualTo(Anf.USAGE);
    assertThat(usage.err()).contains("Missing required parameter: 'ALIAS'");

    Run down = anf("lineage", "svc@demo/hello", "--server=127.0.0.1:1", "--timeout=2");
    assertThat(down.code()).isEqualTo(Anf.UNAVAILABLE);
    assertThat(down.err()).startsWith("anf: cannot reach anchor 127.0.0.1:1: ");
  }

  @Test
  void everyCommandHasHelp() {
    for (String c :
        List.of(
            "dev",
            "demo",
            "anchor",
            "resolver",
            "keygen",
            "scope",
            "bind",
            "resolve",
            "unbind",
            "rename",
            "move",
            "split",
            "merge",
            "transfer",
            "rotate-uid",
            "lineage",
            "anchors",
            "snapshot")) {
      Run r = anf(c, "--help");
      assertThat(r.code()).as(c).isZero();
      assertThat(r.out()).as(c).startsWith("Usage: anf " + c);
    }
  }

  @Test
  void keygenScopeCreateAndAnchors() throws IOException {
    Path key = dir.resolve("k.key");
    Run kg = ok("keygen", "--out", key.toString());
    assertThat(kg.out()).startsWith("ed25519:");
    assertThat(Files.readString(key)).contains("seed ed25519-seed:");
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key)))
        .isEqualTo("rw-------");
    assertThat(anf("keygen", "--out", key.toString()).code()).isEqualTo(Anf.USAGE);

    // keygen --json: publicKey and file (with --out), publicKey and keyFile (without).
    Path key2 = dir.resolve("k2.key");
    JsonObject kj = parse(ok("keygen", "--out", key2.toString(), "--json"));
    assertThat(kj.get("publicKey").getAsString()).startsWith("ed25519:");
    assertThat(kj.get("file").getAsString()).isEqualTo(key2.toAbsolutePath().toString());
    JsonObject kp = parse(ok("keygen", "--json"));
    assertThat(kp.get("publicKey").getAsString()).startsWith("ed25519:");
    assertThat(KeyText.parse(kp.get("keyFile").getAsString()).publicKeyText())
        .isEqualTo(kp.get("publicKey").getAsString());

    Run create = ok("scope", "create", "svc@team", "--anchors", "3");
    assertThat(create.out())
        .startsWith("created scope svc@team (")
        .contains("governed by a1, a2, a3");
    ok("bind", "svc@team/db", "--endpoint", "10.0.0.9:5432");
    assertThat(anf("scope", "create", "svc@team").code()).isEqualTo(Anf.USAGE);

    // scope create --json: scope, scopeId, parentScopeId, anchors, lineageSeq.
    JsonObject sj = parse(ok("scope", "create", "svc@team2", "--anchors", "2", "--json"));
    assertThat(sj.get("scope").getAsString()).isEqualTo("svc@team2");
    assertThat(sj.get("scopeId").getAsString()).matches("[0-9a-f]{16}");
    assertThat(sj.get("parentScopeId").getAsString()).isEqualTo(ScopeIds.text(scopeId("svc")));
    assertThat(sj.get("anchors").getAsJsonArray())
        .extracting(JsonElement::getAsString)
        .containsExactly("a1", "a2");
    assertThat(sj.get("lineageSeq").getAsLong()).isEqualTo(1);

    Run list = ok("anchors", "svc@team", "list");
    assertThat(list.out()).contains("3 anchors, quorum 2-of-3").contains("leader");
    // anchors list --json: scopeId, quorum, version, anchors [{id, address, raftAddress, leader}].
    JsonObject lj = parse(ok("anchors", "svc@team", "list", "--json"));
    assertThat(lj.get("quorum").getAsString()).isEqualTo("2-of-3");
    assertThat(lj.get("version").getAsLong()).isPositive();
    int leaders = 0;
    for (JsonElement e : lj.get("anchors").getAsJsonArray()) {
      JsonObject a = e.getAsJsonObject();
      assertThat(a.get("id").getAsString()).isIn("a1", "a2", "a3");
      assertThat(a.get("address").getAsString()).startsWith("127.0.0.1:");
      assertThat(a.get("raftAddress").getAsString()).startsWith("127.0.0.1:");
      leaders += a.get("leader").getAsBoolean() ? 1 : 0;
    }
    assertThat(leaders).isEqualTo(1);

    Run remove = ok("anchors", "svc@team", "remove", "a3");
    assertThat(remove.out()).contains("quorum 2-of-2 (a1, a2)");
    Run add = ok("anchors", "svc@team", "add", fabric.nodes().get(2).address());
    assertThat(add.out()).contains("quorum 2-of-3 (a1, a2, a3)");
    // anchors add|remove --json: scopeId, action, detail, lineageSeq.
    JsonObject rj = parse(ok("anchors", "svc@team", "remove", "a3", "--json"));
    assertThat(rj.get("scopeId").getAsString()).isEqualTo(ScopeIds.text(scopeId("svc@team")));
    assertThat(rj.get("action").getAsString()).isEqualTo("remove");
    assertThat(rj.get("detail").getAsString()).contains("a3");
    assertThat(rj.get("lineageSeq").getAsLong()).isPositive();
    JsonObject aj =
        parse(ok("anchors", "svc@team", "add", fabric.nodes().get(2).address(), "--json"));
    assertThat(aj.get("action").getAsString()).isEqualTo("add");
    assertThat(aj.get("lineageSeq").getAsLong()).isGreaterThan(rj.get("lineageSeq").getAsLong());
  }

  /**
   * Scopes made by {@code anf scope create}, by {@code anf dev} and by the tests' cluster record
   * the child's fuse in the parent; a parent cannot merge back a child whose policy says it may
   * not.
   */
  @Test
  void everyDelegationRecordsTheChildsFuse() throws IOException {
    // anf dev (DevFabric): svc@demo as svc records it.
    assertThat(delegation("svc", "svc@demo/anything"))
        .satisfies(d -> assertThat(d.hasParentMayReclaim() && d.getParentMayReclaim()).isTrue());
    // anf scope create, with a policy that does not let the parent take it back.
    Path policy = dir.resolve("fused.yaml");
    Files.writeString(policy, "parent_may_reclaim: false\n", StandardCharsets.UTF_8);
    ok("scope", "create", "svc@fused", "--policy", policy.toString());
    ok("scope", "create", "svc@open");
    assertThat(delegation("svc", "svc@fused/x"))
        .satisfies(d -> assertThat(d.hasParentMayReclaim() && !d.getParentMayReclaim()).isTrue());
    assertThat(delegation("svc", "svc@open/x"))
        .satisfies(d -> assertThat(d.hasParentMayReclaim() && d.getParentMayReclaim()).isTrue());
    // The parent's own state machine refuses its side of the merge: aborted, exit 2.
    Run merge = anf("merge", "svc@fused");
    assertThat(merge.code()).as(merge.out() + merge.err()).isEqualTo(Anf.USAGE);
    assertThat(merge.out() + merge.err()).contains("parent_may_reclaim");
    ok("bind", "svc@fused/still-here");
    // TestCluster's requests carry the child's policy too, digest matching.
    Mutation delegate =
        Transitions.parse(
            TestCluster.childRequest(
                    new MutationFactory(new java.util.Random(7), () -> 1_764_000_000_000L),
                    fabric.admin(),
                    fabric.root(),
                    "svc@x",
                    AnchorMap.newBuilder().addAnchors(fabric.nodes().get(0).anchorInfo()).build())
                .getDelegate());
    assertThat(delegate.getDelegate().hasChildPolicy()).isTrue();
    assertThat(
            Policies.matchesDelegation(
                delegate.getDelegate().getDelegation(), delegate.getDelegate().getChildPolicy()))
        .isTrue();
  }

  /** The parent scope's record of a child, as a lookup in the parent answers it. */
  private Delegation delegation(String parent, String below) {
    long id = scopeId(parent);
    var ch =
        io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(
                fabric.nodes().get(0).address())
            .usePlaintext()
            .build();
    try {
      LookupResult r =
          AnchorServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .lookup(
                  LookupRequest.newBuilder()
                      .setScopeId(id)
                      .setAlias(Alias.parse(below).toProto())
                      .setScopeLabels(Alias.parse(parent).size())
                      .build());
      assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_DELEGATED);
      return r.getDelegation();
    } finally {
      ch.shutdownNow();
    }
  }

  /** split and merge: text and --json, the exit status of each outcome. */
  @Test
  void splitAndMerge() {
    String a = ok("bind", "svc@demo/parts/a", "--endpoint", "10.2.0.1:80").out().strip();
    ok("bind", "svc@demo/parts/b");
    ok("bind", "svc@demo/tools/t");
    Run split = ok("split", "svc@demo", "--child", "parts");
    assertThat(split.out())
        .startsWith("split svc@demo into [svc@demo/parts]: committed (txn ")
        .contains("SPLIT_OUT svc@demo/parts")
        .contains("SCOPE_CREATED svc@demo/parts");
    JsonObject r = parse(ok("resolve", "svc@demo/parts/a", "--json"));
    assertThat(r.get("uid").getAsString()).isEqualTo(a);
    assertThat(r.get("path").getAsJsonArray().get(3).getAsJsonObject().get("scope").getAsString())
        .isEqualTo("svc@demo/parts");

    // --json: scope, children, txn, outcome, reason, entries, childScopeIds.
    JsonObject sj = parse(ok("split", "svc@demo", "--child", "tools", "--json"));
    assertThat(sj.get("scope").getAsString()).isEqualTo("svc@demo");
    assertThat(sj.get("children").getAsJsonArray())
        .extracting(JsonElement::getAsString)
        .containsExactly("svc@demo/tools");
    assertThat(sj.get("txn").getAsString()).matches("[0-9a-f]{32}");
    assertThat(sj.get("outcome").getAsString()).isEqualTo("COMMITTED");
    assertThat(sj.get("entries").getAsJsonArray()).isNotEmpty();
    assertThat(sj.get("childScopeIds").getAsJsonArray().get(0).getAsString())
        .isEqualTo(ScopeIds.text(scopeId("svc@demo/tools")));

    assertThat(anf("split", "svc@demo/nothing", "--child", "x").code()).isEqualTo(Anf.NOT_FOUND);
    assertThat(anf("split", "svc@demo").code()).isEqualTo(Anf.USAGE); // --child is required
    Run again = anf("split", "svc@demo", "--child", "parts");
    assertThat(again.code()).isEqualTo(Anf.USAGE);
    assertThat(again.err()).contains("already a child scope");

    Run merge = ok("merge", "svc@demo/parts");
    assertThat(merge.out())
        .startsWith("merge svc@demo/parts into its parent: committed (txn ")
        .contains("MERGED_IN svc@demo/parts");
    assertThat(parse(ok("resolve", "svc@demo/parts/a", "--json")).get("uid").getAsString())
        .isEqualTo(a);
    // --json: scope, scopeId, parentScopeId, txn, outcome, entries.
    String toolsId = ScopeIds.text(scopeId("svc@demo/tools"));
    JsonObject mj = parse(ok("merge", "svc@demo/tools", "--json"));
    assertThat(mj.get("scope").getAsString()).isEqualTo("svc@demo/tools");
    assertThat(mj.get("scopeId").getAsString()).isEqualTo(toolsId);
    assertThat(mj.get("parentScopeId").getAsString()).isEqualTo(ScopeIds.text(scopeId("svc@demo")));
    assertThat(mj.get("outcome").getAsString()).isEqualTo("COMMITTED");
    assertThat(anf("merge", "svc@demo/parts").code()).isEqualTo(Anf.NOT_FOUND); // gone
    assertThat(anf("merge", "svc@demo/nothing").code()).isEqualTo(Anf.NOT_FOUND);
  }

  /** transfer: the new owner can write, the old one cannot; text, --json, exit status. */
  @Test
  void transferHandsAScopeToNewOwners() throws IOException {
    ok("scope", "create", "svc@handover");
    ok("bind", "svc@handover/before");
    Path next = dir.resolve("next-owner.key");
    String nextKey = ok("keygen", "--out", next.toString()).out().strip();
    Run t = ok("transfer", "svc@handover", "--to", next.toString());
    assertThat(t.out().strip()).isEqualTo("transferred svc@handover to [" + nextKey + "]");
    Run refused = anf("bind", "svc@handover/by-old-owner");
    assertThat(refused.code()).isEqualTo(Anf.USAGE);
    assertThat(refused.err()).contains("does not hold");
    ok("bind", "svc@handover/by-new-owner", "--key=" + next);

    // --json: lineageSeq, lineageHash, duplicate, scope, owners, policyVersion, status.
    Path third = dir.resolve("third-owner.key");
    String thirdKey = ok("keygen", "--out", third.toString()).out().strip();
    JsonObject tj =
        parse(ok("transfer", "svc@handover", "--to", thirdKey, "--key=" + next, "--json"));
    assertThat(tj.get("scope").getAsString()).isEqualTo("svc@handover");
    assertThat(tj.get("owners").getAsJsonArray())
        .extracting(JsonElement::getAsString)
        .containsExactly(thirdKey);
    assertThat(tj.get("status").getAsString()).isEqualTo("TRANSFERRED");
    assertThat(tj.get("policyVersion").getAsLong()).isEqualTo(3);
    assertThat(tj.get("lineageSeq").getAsLong()).isPositive();
    assertThat(tj.get("duplicate").getAsBoolean()).isFalse();

    Run badKey = anf("transfer", "svc@handover", "--to", "not-a-key");
    assertThat(badKey.code()).isEqualTo(Anf.USAGE);
    assertThat(badKey.err()).contains("neither a public key");
    assertThat(anf("transfer", "svc@nosuch", "--to", thirdKey).code()).isEqualTo(Anf.NOT_FOUND);
  }

  /** rotate-uid: the old UID leads to the new one; text, --json, lineage of either UID. */
  @Test
  void rotateUidLinksOldToNew() {
    String old = ok("bind", "svc@demo/rot").out().strip();
    Run r = ok("rotate-uid", "svc@demo/rot");
    assertThat(r.out()).startsWith("rotated svc@demo/rot: " + old + " -> uid:");
    String fresh = r.out().strip().substring(r.out().strip().lastIndexOf(' ') + 1);
    assertThat(parse(ok("resolve", "svc@demo/rot", "--json")).get("uid").getAsString())
        .isEqualTo(fresh);

    // --json: alias, oldUid, uid, status, lineageSeq, lineageHash, duplicate.
    JsonObject j = parse(ok("rotate-uid", "svc@demo/rot", "--json"));
    assertThat(j.get("alias").getAsString()).isEqualTo("svc@demo/rot");
    assertThat(j.get("oldUid").getAsString()).isEqualTo(fresh);
    String third = j.get("uid").getAsString();
    assertThat(third).isNotIn(old, fresh);
    assertThat(j.get("status").getAsString()).isEqualTo("ROTATED");

    // Any UID of the family gives the whole history, and says which UID is current.
    for (String name : List.of(old, fresh, third, "svc@demo/rot")) {
      JsonObject h = parse(ok("lineage", name, "--json"));
      assertThat(h.get("uid").getAsString()).as(name).isEqualTo(third);
      assertThat(h.get("uids").getAsJsonArray())
          .extracting(JsonElement::getAsString)
          .contains(old, fresh, third);
      assertThat(inScope(steps(h), "svc@demo"))
          .as(name)
          .containsExactly("BOUND", "UID_ROTATED", "UID_ROTATED");
    }
    assertThat(anf("rotate-uid", "svc@demo/not-bound").code()).isEqualTo(Anf.NOT_FOUND);
  }

  /**
   * The history follows the object through a rename, a split into a child scope, a move to another
   * scope and a rotation, each entry labelled with its scope; after the child is merged back (its
   * group dissolved) it still goes from the first entry to the last, through the parent's merge.
   */
  @Test
  void lineageFollowsAnObjectAcrossScopes() {
    String x = ok("bind", "svc@demo/trail/x", "--endpoint", "10.3.0.1:80").out().strip();
    ok("rename", "svc@demo/trail/x", "svc@demo/trail/y");
    JsonObject split = parse(ok("split", "svc@demo", "--child", "trail", "--json"));
    long child = ScopeIds.parse(split.get("childScopeIds").getAsJsonArray().get(0).getAsString());
    ok("move", "svc@demo/trail/y", "user@carol");
    String x2 = parse(ok("rotate-uid", "user@carol/y", "--json")).get("uid").getAsString();

    JsonObject h = parse(ok("lineage", "svc@demo/trail/x", "--json"));
    assertThat(h.get("name").getAsString()).isEqualTo("svc@demo/trail/x");
    assertThat(h.get("uid").getAsString()).isEqualTo(x2);
    assertThat(h.get("uids").getAsJsonArray())
        .extracting(JsonElement::getAsString)
        .containsExactly(x, x2);
    assertThat(h.get("alias").getAsString()).isEqualTo("user@carol/y");
    assertThat(h.get("scope").getAsString()).isEqualTo("user");
    assertThat(h.get("scopes").getAsJsonArray())
        .extracting(e -> e.getAsJsonObject().get("scope").getAsString())
        .containsExactly("svc@demo", "svc@demo/trail", "user");
    List<String> steps = steps(h);
    assertThat(steps.get(0)).isEqualTo("svc@demo BOUND");
    assertThat(steps.get(steps.size() - 1)).isEqualTo("user UID_ROTATED");
    assertThat(inScope(steps, "svc@demo"))
        .containsExactly("BOUND", "RENAMED", "LOCKED", "SPLIT_OUT");
    assertThat(inScope(steps, "svc@demo/trail"))
        .containsExactly("SCOPE_CREATED", "LOCKED", "MOVED_OUT");
    assertThat(inScope(steps, "user")).containsExactly("LOCKED", "MOVED_IN", "UID_ROTATED");
    for (JsonElement e : h.get("entries").getAsJsonArray()) {
      assertThat(e.getAsJsonObject().get("scopeId").getAsString()).matches("[0-9a-f]{16}");
    }
    // The same from either UID.
    assertThat(steps(parse(ok("lineage", x2, "--json")))).isEqualTo(steps);
    assertThat(steps(parse(ok("lineage", x, "--json")))).isEqualTo(steps);

    Run text = ok("lineage", "svc@demo/trail/x");
    assertThat(text.out())
        .startsWith("svc@demo/trail/x  " + x2 + "  now at user@carol/y\n")
        .contains("  scopes: svc@demo (head seq ")
        .containsPattern("\n  svc@demo/trail #\\d+ .* MOVED_OUT svc@demo/trail/y -> user@carol/y")
        .containsPattern("\n  user +#\\d+ .* UID_ROTATED user@carol/y " + x + " -> " + x2);
    Run verify = ok("lineage", "svc@demo/trail/x", "--verify");
    assertThat(verify.out())
        .contains("verify svc@demo a1")
        .contains("verify svc@demo/trail a2")
        .contains("verify user a3")
        .doesNotContain("does not verify");

    ok("merge", "svc@demo/trail");
    await(
        "the merged scope's group is dissolved",
        () -> fabric.nodes().stream().allMatch(n -> n.scope(child) == null));
    JsonObject after = parse(ok("lineage", "svc@demo/trail/x", "--json"));
    List<String> later = steps(after);
    assertThat(inScope(later, "svc@demo"))
        .containsExactly("BOUND", "RENAMED", "LOCKED", "SPLIT_OUT", "LOCKED", "MERGED_IN");
    assertThat(inScope(later, "svc@demo/trail")).isEmpty();
    assertThat(inScope(later, "user")).containsExactly("LOCKED", "MOVED_IN", "UID_ROTATED");
    assertThat(after.get("alias").getAsString()).isEqualTo("user@carol/y");
    assertThat(after.get("notes").getAsJsonArray().get(0).getAsString())
        .contains(ScopeIds.text(child))
        .contains("no longer hosted");
  }

  /**
   * --verify on a scope whose follower is held back from applying: reported as lagging, not as
   * disagreeing, and the command succeeds; an entry edited in one anchor's RocksDB is named.
   */
  @Test
  void verifyTellsALaggingAnchorFromAnEditedEntry() throws Exception {
    JsonObject lag = parse(ok("scope", "create", "svc@lag", "--json"));
    long lagScope = ScopeIds.parse(lag.get("scopeId").getAsString());
    ok("bind", "svc@lag/a");
    awaitConverged(lagScope);
    // Hold back a follower that resolution does not ask first (a1 is first in every map).
    JsonObject list = parse(ok("anchors", "svc@lag", "list", "--json"));
    int f = 2;
    for (JsonElement e : list.get("anchors").getAsJsonArray()) {
      if (e.getAsJsonObject().get("leader").getAsBoolean()
          && e.getAsJsonObject().get("id").getAsString().equals("a3")) {
        f = 1;
      }
    }
    String laggard = DevFabric.nodeId(f);
    gate.close(f, lagScope);
    try {
      ok("bind", "svc@lag/b");
      int held = f;
      await(
          "the anchors not held back apply the bind",
          () -> {
            for (int i = 0; i < 3; i++) {
              if (i != held && head(i, lagScope) != 3) {
                return false;
              }
            }
            return true;
          });
      assertThat(head(f, lagScope)).isEqualTo(2);
      Run v = ok("lineage", "svc@lag/b", "--verify", "--wait", "1", "--json");
      JsonObject vj = parse(v);
      assertThat(vj.get("verified").getAsBoolean()).isTrue();
      for (JsonElement e : vj.get("anchors").getAsJsonArray()) {
        JsonObject row = e.getAsJsonObject();
        boolean isLaggard = row.get("anchor").getAsString().startsWith(laggard + " ");
        assertThat(row.get("ok").getAsBoolean()).as(row.toString()).isTrue();
        assertThat(row.get("lagging").getAsBoolean()).as(row.toString()).isEqualTo(isLaggard);
        if (isLaggard) {
          assertThat(row.get("report").getAsString())
              .contains("lagging: its head is seq 2, the others' seq 3")
              .contains("which agree");
        }
      }
      Run text = ok("lineage", "svc@lag/b", "--verify", "--wait", "1");
      assertThat(text.out()).contains("verify svc@lag " + laggard).contains("lagging");
    } finally {
      gate.release();
    }

    // Edit an entry of scope svc@audit in anchor a3's own RocksDB, through the store.
    JsonObject audit = parse(ok("scope", "create", "svc@audit", "--json"));
    long auditScope = ScopeIds.parse(audit.get("scopeId").getAsString());
    String uid = ok("bind", "svc@audit/a").out().strip();
    ok("bind", "svc@audit/b");
    awaitConverged(auditScope);
    ok("lineage", "svc@audit/a", "--verify");
    fabric.stop(2);
    try (NodeStore store = new NodeStore(opts.dataDir().resolve("a3").resolve("rocksdb"), true)) {
      byte[] key = StateKeys.lineage(2);
      LineageEntry e =
          LineageEntry.parseFrom(java.util.Objects.requireNonNull(store.get(auditScope, key)));
      EffectItem forged =
          e.getEffect().getItems(0).toBuilder().setDetail("forged on a3 only").build();
      LineageEntry edited =
          e.toBuilder().setEffect(e.getEffect().toBuilder().setItems(0, forged)).build();
      org.anf.lineage.kv.WriteSet ws = new org.anf.lineage.kv.WriteSet();
      ws.put(key, edited.toByteArray());
      store.write(auditScope, ws, store.applied(auditScope));
      store.flush();
    }
    fabric.restart(2, hooks(2));
    // Applied its entries and knows the group's leader again: a read through it is then served.
    await(
        "a3 serves svc@audit again",
        () -> head(2, auditScope) == 3 && fabric.nodes().get(2).groups().hasLeader(auditScope));
    Run bad = anf("lineage", "svc@audit/a", "--verify", "--json");
    assertThat(bad.code()).as(bad.out() + bad.err()).isEqualTo(Anf.INTERNAL);
    JsonObject bj = parse(bad);
    assertThat(bj.get("verified").getAsBoolean()).isFalse();
    // The history itself still shows the bind (read from the leader or an honest anchor).
    assertThat(inScope(steps(bj), "svc@audit")).contains("BOUND");
    for (JsonElement el : bj.get("anchors").getAsJsonArray()) {
      JsonObject row = el.getAsJsonObject();
      if (row.get("anchor").getAsString().startsWith("a3 ")) {
        assertThat(row.get("ok").getAsBoolean()).isFalse();
        assertThat(row.get("report").getAsString()).contains("(seq 2): EDITED");
      } else {
        assertThat(row.get("ok").getAsBoolean()).as(row.toString()).isTrue();
      }
    }
    Run badText = anf("lineage", uid, "--verify");
    assertThat(badText.code()).isEqualTo(Anf.INTERNAL);
    assertThat(badText.out()).containsPattern("verify svc@audit a3 .*\n.*\\(seq 2\\): EDITED");
  }

  @Test
  void restartKeepsBindingsAndSnapshotsSaveAndRestore() throws IOException {
    Run bind = ok("bind", "svc@demo/kept", "--endpoint", "127.0.0.1:8080");
    Path snap = dir.resolve("demo.snap");
    Run save = ok("snapshot", "save", snap.toString(), "--scope", "svc@demo");
    assertThat(save.out()).startsWith("saved scope ");
    assertThat(Files.size(snap)).isPositive();
    // snapshot save --json: file, scopeId, index, term, bytes, keys.
    Path snap2 = dir.resolve("demo2.snap");
    JsonObject sj =
        parse(ok("snapshot", "save", snap2.toString(), "--scope", "svc@demo", "--json"));
    assertThat(sj.get("file").getAsString()).isEqualTo(snap2.toAbsolutePath().toString());
    assertThat(sj.get("scopeId").getAsString()).isEqualTo(ScopeIds.text(scopeId("svc@demo")));
    assertThat(sj.get("index").getAsLong()).isPositive();
    assertThat(sj.get("term").getAsLong()).isPositive();
    assertThat(sj.get("bytes").getAsLong()).isEqualTo(Files.size(snap2));
    assertThat(sj.get("keys").getAsLong()).isPositive();

    fabric.close();
    try {
      restoreInto(opts.dataDir().resolve("a2"), snap, snap2, sj);
    } finally {
      fabric = DevFabric.start(opts, this::hooks);
    }

    Run lineage = ok("lineage", "svc@demo/kept", "--verify");
    assertThat(lineage.out()).contains("BOUND svc@demo/kept " + bind.out().strip());
  }

  private void restoreInto(Path a2, Path snap, Path snap2, JsonObject saved) {
    // Restore into a stopped anchor: its copy of the scope is reset to the snapshot.
    Run restore = ok("snapshot", "restore", snap.toString(), "--data", a2.toString());
    assertThat(restore.out()).startsWith("restored scope ");
    // snapshot restore --json: scopeId, index, keys, data.
    JsonObject rj =
        parse(ok("snapshot", "restore", snap2.toString(), "--data", a2.toString(), "--json"));
    assertThat(rj.get("scopeId").getAsString()).isEqualTo(saved.get("scopeId").getAsString());
    assertThat(rj.get("index").getAsLong()).isEqualTo(saved.get("index").getAsLong());
    assertThat(rj.get("keys").getAsLong()).isEqualTo(saved.get("keys").getAsLong());
    assertThat(rj.get("data").getAsString()).isEqualTo(a2.toAbsolutePath().toString());
  }

  /** The dev admin key is written owner-only from the start, and never silently replaced. */
  @Test
  void publishingTheDevKeyKeepsADifferentOneAside() throws IOException {
    Path home = dir.resolve("home").resolve(".anf");
    DevFabric.Published p = fabric.publishKey(home);
    assertThat(p.previous()).isNull();
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p.file())))
        .isEqualTo("rw-------");
    assertThat(KeyText.parse(Files.readString(p.file())).publicKeyText())
        .isEqualTo(fabric.admin().publicKeyText());
    // Again: the same key is there, nothing to do.
    assertThat(fabric.publishKey(home).previous()).isNull();
    // Another fabric's key is there: moved aside, not lost.
    String other = ok("keygen").out();
    Files.writeString(p.file(), other, StandardCharsets.UTF_8);
    DevFabric.Published q = fabric.publishKey(home);
    assertThat(q.previous()).isEqualTo(home.resolve("dev-admin.key.old"));
    assertThat(Files.readString(home.resolve("dev-admin.key.old"))).isEqualTo(other);
    assertThat(KeyText.parse(Files.readString(q.file())).publicKeyText())
        .isEqualTo(fabric.admin().publicKeyText());
    assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(q.file())))
        .isEqualTo("rw-------");
  }

  /** {@code anf demo} runs its own fabric in a temp dir, and every old name resolves. */
  @Test
  void demoRunsToTheEnd() {
    Run demo = anf("demo");
    assertThat(demo.code()).as(demo.out() + demo.err()).isZero();
    assertThat(demo.out())
        .contains("# demo finished: every old name resolved")
        .containsPattern("svc@demo/shop/cart +REDIRECTED +uid:\\S+ at user@alice/cart")
        .containsPattern("svc@demo/hello +REDIRECTED +uid:\\S+ at svc@demo/welcome")
        .containsPattern("svc@demo/shop/checkout +EXACT ")
        .contains("$ anf lineage svc@demo/shop/cart --verify")
        .contains("now at user@alice/cart")
        .containsPattern("\n  user +#\\d+ .* MOVED_IN user@alice/cart")
        .doesNotContain("does not verify");
  }
}
