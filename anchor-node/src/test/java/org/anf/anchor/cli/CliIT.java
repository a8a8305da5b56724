package org.anf.anchor.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.anf.anchor.dev.DevFabric;
import org.anf.lineage.error.ErrorCode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The anf command line, run in process against a real dev fabric on OS-chosen ports. */
class CliIT {
  Path dir;
  DevFabric.Options opts;
  DevFabric fabric;

  record Run(int code, String out, String err) {}

  @BeforeEach
  void start() throws IOException {
    dir = Files.createTempDirectory("anf-cli-");
    opts = DevFabric.Options.ephemeral(dir.resolve("data"), 3);
    fabric = DevFabric.start(opts);
  }

  @AfterEach
  void stop() throws IOException {
    if (fabric != null) {
      fabric.close();
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  Run anf(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    boolean client = !List.of("keygen", "dev", "anchor", "--help", "--version").contains(args[0]);
    boolean restore = args.length > 1 && args[0].equals("snapshot") && args[1].equals("restore");
    if (client && !restore) {
      if (all.stream().noneMatch(a -> a.startsWith("--server"))) {
        all.add("--server=" + fabric.nodes().get(0).address());
      }
      all.add("--key=" + fabric.keyFile());
    }
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code =
        Anf.run(all.toArray(String[]::new), new PrintWriter(out, true), new PrintWriter(err, true));
    return new Run(code, out.toString(), err.toString());
  }

  private static JsonObject parse(Run run) {
    String out = run.out().strip();
    assertThat(out).as("one JSON object on stdout; stderr: %s", run.err()).doesNotContain("\n");
    return JsonParser.parseString(out).getAsJsonObject();
  }

  @Test
  void resolvePrintsTheJsonContractTraceAndExitCodes() {
    Run bind = anf("bind", "svc@demo/web", "--endpoint", "10.9.9.9:443", "--attr", "env=prod");
    assertThat(bind.code()).as(bind.err()).isZero();
    String uid = bind.out().strip();

    // Every field of the contract (ARCHITECTURE.md, CLI contract), by name and type.
    Run json = anf("resolve", "svc@demo/web", "--json");
    assertThat(json.code()).as(json.err()).isZero();
    JsonObject o = parse(json);
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

    Run trace = anf("resolve", "svc@demo/web", "--trace", "--consistency", "linearizable");
    assertThat(trace.code()).isZero();
    assertThat(trace.out()).contains(";; (root)").contains(";; svc@demo").contains("EXACT");

    Run missing = anf("resolve", "svc@demo/none");
    assertThat(missing.code()).isEqualTo(Anf.NOT_FOUND);
    assertThat(missing.out()).contains("NOT_FOUND");
    JsonObject none = parse(anf("resolve", "svc@demo/none", "--json"));
    assertThat(none.get("status").getAsString()).isEqualTo("NOT_FOUND");
    assertThat(none.get("uid").isJsonNull()).isTrue();
    assertThat(none.get("record").isJsonNull()).isTrue();

    Run rename = anf("rename", "svc@demo/web", "svc@demo/web2");
    assertThat(rename.code()).as(rename.err()).isZero();
    Run redirected = anf("resolve", "svc@demo/web", "--json", "--consistency", "linearizable");
    assertThat(redirected.code()).as(redirected.err()).isZero();
    JsonObject moved = parse(redirected);
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

    // Internal errors are not "not found" (1): their own status, documented in --help.
    assertThat(Anf.exitCode(ErrorCode.INTERNAL)).isEqualTo(4);
    assertThat(Anf.exitCode(ErrorCode.CORRUPTION)).isEqualTo(4);
    assertThat(Anf.exitCode(ErrorCode.TIMEOUT)).isEqualTo(Anf.UNAVAILABLE);
    assertThat(Anf.exitCode(ErrorCode.PRECONDITION_FAILED)).isEqualTo(Anf.USAGE);
    assertThat(anf("resolve", "--help").out().replaceAll("\\s+", " ")).contains("4 internal error");
  }

  @Test
  void bindLineageAndErrorsWithExitCodes() {
    Run bind = anf("bind", "svc@demo/hello", "--endpoint", "127.0.0.1:8080");
    assertThat(bind.code()).as(bind.err()).isZero();
    assertThat(bind.out().strip()).matches("uid:[0-9a-f]{16}-0000-[0-9a-f]{12}");

    Run lineage = anf("lineage", "svc@demo/hello");
    assertThat(lineage.code()).isZero();
    assertThat(lineage.out()).contains("BOUND svc@demo/hello " + bind.out().strip());

    Run verify = anf("lineage", "svc@demo/hello", "--verify");
    assertThat(verify.code()).as(verify.out()).isZero();
    assertThat(verify.out())
        .contains("verify a1")
        .contains("verify a3")
        .contains("lineage verifies");

    Run json =
        anf("bind", "svc@demo/api", "--endpoint", "[::1]:443/tcp", "--attr", "team=core", "--json");
    assertThat(json.code()).isZero();
    assertThat(json.out())
        .startsWith("{\"alias\":\"svc@demo/api\",\"uid\":\"uid:")
        .contains("\"scope\":\"svc@demo\"");

    Run again = anf("bind", "svc@demo/hello");
    assertThat(again.code()).isEqualTo(Anf.USAGE);
    assertThat(again.err().strip())
        .isEqualTo("anf: 'svc@demo/hello' is already bound to " + bind.out().strip());

    Run bad = anf("bind", "svc@de!mo");
    assertThat(bad.code()).isEqualTo(Anf.USAGE);
    assertThat(bad.err().strip()).isEqualTo("anf: 'svc@de!mo' at position 6: unexpected '!'");
    assertThat(bad.err().lines().count()).isEqualTo(1);

    Run badEndpoint = anf("bind", "svc@demo/x", "--endpoint", "127.0.0.1:99999");
    assertThat(badEndpoint.code()).isEqualTo(Anf.USAGE);
    assertThat(badEndpoint.err()).contains("port outside 1..65535");

    Run unbind = anf("unbind", "svc@demo/api");
    assertThat(unbind.code()).isZero();
    assertThat(unbind.out()).startsWith("retired uid:");
    Run notBound = anf("unbind", "svc@demo/nothing");
    assertThat(notBound.code()).isEqualTo(Anf.NOT_FOUND);

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
            "anchor",
            "keygen",
            "scope",
            "bind",
            "unbind",
            "lineage",
            "anchors",
            "snapshot")) {
      StringWriter out = new StringWriter();
      int code =
          Anf.run(
              new String[] {c, "--help"},
              new PrintWriter(out, true),
              new PrintWriter(new StringWriter(), true));
      assertThat(code).as(c).isZero();
      assertThat(out.toString()).as(c).startsWith("Usage: anf " + c);
    }
  }

  @Test
  void keygenScopeCreateAndAnchors() throws IOException {
    Path key = dir.resolve("k.key");
    Run kg = anf("keygen", "--out", key.toString());
    assertThat(kg.code()).isZero();
    assertThat(kg.out()).startsWith("ed25519:");
    assertThat(Files.readString(key)).contains("seed ed25519-seed:");
    assertThat(anf("keygen", "--out", key.toString()).code()).isEqualTo(Anf.USAGE);

    Run create = anf("scope", "create", "svc@team", "--anchors", "3");
    assertThat(create.code()).as(create.err()).isZero();
    assertThat(create.out())
        .startsWith("created scope svc@team (")
        .contains("governed by a1, a2, a3");
    assertThat(anf("bind", "svc@team/db", "--endpoint", "10.0.0.9:5432").code()).isZero();
    assertThat(anf("scope", "create", "svc@team").code()).isEqualTo(Anf.USAGE);

    Run list = anf("anchors", "svc@team", "list");
    assertThat(list.code()).isZero();
    assertThat(list.out()).contains("3 anchors, quorum 2-of-3").contains("leader");
    Run remove = anf("anchors", "svc@team", "remove", "a3");
    assertThat(remove.code()).as(remove.err()).isZero();
    assertThat(remove.out()).contains("quorum 2-of-2 (a1, a2)");
    Run add = anf("anchors", "svc@team", "add", fabric.nodes().get(2).address());
    assertThat(add.code()).as(add.err()).isZero();
    assertThat(add.out()).contains("quorum 2-of-3 (a1, a2, a3)");
  }

  @Test
  void restartKeepsBindingsAndSnapshotsSaveAndRestore() throws IOException {
    Run bind = anf("bind", "svc@demo/hello", "--endpoint", "127.0.0.1:8080");
    assertThat(bind.code()).isZero();
    Path snap = dir.resolve("demo.snap");
    Run save = anf("snapshot", "save", snap.toString(), "--scope", "svc@demo");
    assertThat(save.code()).as(save.err()).isZero();
    assertThat(save.out()).startsWith("saved scope ");
    assertThat(Files.size(snap)).isPositive();

    fabric.close();
    // Restore into a stopped anchor: its copy of the scope is reset to the snapshot.
    Run restore =
        anf(
            "snapshot",
            "restore",
            snap.toString(),
            "--data",
            opts.dataDir().resolve("a2").toString());
    assertThat(restore.code()).as(restore.err()).isZero();
    assertThat(restore.out()).startsWith("restored scope ");
    fabric = DevFabric.start(opts);

    Run lineage = anf("lineage", "svc@demo/hello", "--verify");
    assertThat(lineage.code()).as(lineage.out() + lineage.err()).isZero();
    assertThat(lineage.out()).contains("BOUND svc@demo/hello " + bind.out().strip());
  }
}
