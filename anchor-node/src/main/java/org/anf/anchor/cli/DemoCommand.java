package org.anf.anchor.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.dev.DevFabric;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupResult;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * A scripted tour in one process: starts a three-anchor fabric in a temporary directory, runs the
 * real CLI commands against it (bind, rename, split, move, merge, lineage), resolves every old name
 * and checks it still reaches its original UID, then stops and deletes everything. Exit 0 when
 * every old name resolved as it should.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "A scripted tour: bind, rename, split, move, merge on a three-anchor fabric started in a"
          + " temporary directory, then resolve the old names and show lineage. Exits 0 when every"
          + " old name still resolves to its original UID."
    })
public final class DemoCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  private PrintWriter out = new PrintWriter(java.io.Writer.nullWriter());
  private String server = "";
  private String key = "";

  @Override
  public Integer call() throws IOException {
    out = spec.commandLine().getOut();
    Path dir = Files.createTempDirectory("anf-demo-");
    try (DevFabric fabric = DevFabric.start(DevFabric.Options.ephemeral(dir, 3))) {
      AnchorNode first = fabric.nodes().get(0);
      server = first.address();
      key = fabric.keyFile().toString();
      out.println("# a fabric of 3 anchors; scopes (root), svc, svc@demo, user");
      Map<String, String> uids = new LinkedHashMap<>();
      for (String[] b :
          List.of(
              new String[] {"svc@demo/hello", "10.0.0.1:8080"},
              new String[] {"svc@demo/shop/cart", "10.0.0.2:443"},
              new String[] {"svc@demo/shop/checkout", "10.0.0.3:443"},
              new String[] {"svc@demo/shop/search", "10.0.0.4:443"})) {
        uids.put(b[0], run("bind", b[0], "--endpoint", b[1]).strip());
      }
      run("rename", "svc@demo/hello", "svc@demo/greeting");
      run("rename", "svc@demo/greeting", "svc@demo/welcome");
      run("split", "svc@demo", "--child", "shop");
      run("move", "svc@demo/shop/cart", "user@alice");
      run("rename", "svc@demo/shop/search", "svc@demo/shop/find");
      long shop = fabric.scopeOf(Alias.parse("svc@demo/shop"));
      run("merge", "svc@demo/shop");
      awaitDissolved(fabric, shop);
      String rotated = run("rotate-uid", "svc@demo/shop/checkout").strip();
      Map<String, String> expect = new LinkedHashMap<>(uids);
      expect.put("svc@demo/greeting", uids.get("svc@demo/hello"));
      expect.put("svc@demo/shop/checkout", rotated.substring(rotated.lastIndexOf(' ') + 1));
      out.println();
      out.println(
          "# every alias ever bound still resolves, as `anf resolve` sees it (one lookup per scope"
              + " walked, from the root):");
      boolean ok = true;
      ResolverConfig cfg =
          ResolverConfig.of(List.of(server))
              .withTimeouts(Duration.ofSeconds(30), Duration.ofMillis(50), Duration.ofSeconds(5));
      // Linearizable and traced: every scope is asked, none answered from a cache.
      ResolveOptions fresh = new ResolveOptions(Consistency.CONSISTENCY_LINEARIZABLE, 0, true);
      try (AnfResolver resolver = new AnfResolver(cfg)) {
        for (Map.Entry<String, String> e : expect.entrySet()) {
          LookupResult a = resolver.resolve(e.getKey(), fresh);
          String status = ResolveCommand.status(a.getStatus());
          String uid = a.hasUid() ? Uid.fromProto(a.getUid()).text() : "-";
          String original = uids.getOrDefault(e.getKey(), e.getValue());
          List<String> via = new ArrayList<>();
          a.getRedirectChainList().forEach(x -> via.add(x.getText()));
          out.printf(
              "  %-24s %-10s %s at %s (%d lookups)%s%s%n",
              e.getKey(),
              status,
              uid,
              a.getCanonicalAlias().getText(),
              a.getPathCount(),
              uid.equals(original) ? "" : ", rotated from " + original,
              via.isEmpty() ? "" : ", via " + String.join(" -> ", via));
          ok &=
              uid.equals(e.getValue())
                  && (status.equals("EXACT") || status.equals("REDIRECTED"))
                  // A name that no longer holds the object is reached through a redirect.
                  && status.equals(
                      a.getCanonicalAlias().getText().equals(e.getKey()) ? "EXACT" : "REDIRECTED");
        }
      }
      out.println();
      run("lineage", "svc@demo/hello");
      run("lineage", "svc@demo/shop/cart", "--verify");
      run("lineage", uids.getOrDefault("svc@demo/shop/checkout", ""));
      out.println(ok ? "# demo finished: every old name resolved" : "# demo FAILED");
      return ok ? Anf.OK : 1;
    } finally {
      org.anf.anchor.dev.TempDirs.deleteTree(dir);
    }
  }

  /**
   * Waits (a while) until every anchor has dissolved a merged scope's group, so what follows reads
   * the same fabric on every run.
   */
  private static void awaitDissolved(DevFabric fabric, long scope) {
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
    while (fabric.nodes().stream().anyMatch(n -> n.scope(scope) != null)
        && System.nanoTime() < deadline) {
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Runs one CLI command against the demo fabric, echoing it and its output. */
  private String run(String... args) {
    out.println();
    out.println("$ anf " + String.join(" ", args));
    List<String> full = new ArrayList<>(List.of(args));
    full.add("--server");
    full.add(server);
    full.add("--key");
    full.add(key);
    StringWriter so = new StringWriter();
    StringWriter se = new StringWriter();
    int rc =
        Anf.run(full.toArray(String[]::new), new PrintWriter(so, true), new PrintWriter(se, true));
    out.print(so);
    out.print(se);
    out.flush();
    if (rc != 0) {
      throw new AnfException(ErrorCode.INTERNAL, "demo step 'anf " + args[0] + "' exited " + rc);
    }
    return so.toString();
  }
}
