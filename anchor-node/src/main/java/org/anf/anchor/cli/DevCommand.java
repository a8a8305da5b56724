package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.dev.DevFabric;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "dev",
    mixinStandardHelpOptions = true,
    description = {
      "Run an embedded fabric in the foreground: anchor nodes on loopback, the root scope and a small"
          + " demo namespace (svc, svc@demo, user), data kept across restarts.",
      "Writes a dev admin key so client commands work with no flags. Stop with Ctrl-C."
    })
public final class DevCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "Data directory (default: ${DEFAULT-VALUE}).",
      defaultValue = "anf-data")
  Path data = Path.of("anf-data");

  @Option(
      names = "--port",
      paramLabel = "PORT",
      description =
          "First anchor's gRPC port; anchor i uses PORT+i, its Raft port PORT+100+i, metrics"
              + " PORT+2000+i; the resolver service PORT+50, its metrics PORT+2050 (default:"
              + " ${DEFAULT-VALUE}).",
      defaultValue = "7400")
  int port = 7400;

  @Option(
      names = "--dns-port",
      paramLabel = "PORT",
      description =
          "DNS gateway port on 127.0.0.1, UDP and TCP (default: ${DEFAULT-VALUE}; -1 disables).",
      defaultValue = "8553")
  int dnsPort = 8553;

  @Option(
      names = "--anchors",
      paramLabel = "N",
      description = "Anchor nodes to run (default: ${DEFAULT-VALUE}).",
      defaultValue = "3")
  int anchors = 3;

  /** A service that runs beside the anchors in dev mode (the resolver with its DNS gateway). */
  public interface Companion extends AutoCloseable {
    /** Lines to print among the endpoints. */
    java.util.List<String> describe();

    @Override
    void close();
  }

  /** The resolver service on PORT+50 and the DNS gateway on the DNS port, cache under DIR. */
  static Companion resolver(DevFabric fabric, Path data, int port, int dnsPort) {
    java.util.List<String> seeds = new java.util.ArrayList<>();
    fabric.nodes().forEach(n -> seeds.add(n.address()));
    org.anf.dns.gateway.GatewayConfig dns =
        dnsPort < 0
            ? null
            : org.anf.dns.gateway.GatewayConfig.DEFAULT.withListen("127.0.0.1", dnsPort);
    org.anf.anchor.gateway.ResolverProcess p =
        org.anf.anchor.gateway.ResolverProcess.start(
            new org.anf.anchor.gateway.ResolverProcessConfig(
                org.anf.resolver.ResolverConfig.of(seeds)
                    .withCacheDir(data.resolve("resolver-cache")),
                "127.0.0.1",
                port + 50,
                port + 2050,
                dns,
                null));
    return new Companion() {
      @Override
      public java.util.List<String> describe() {
        return p.describe();
      }

      @Override
      public void close() {
        p.close();
      }
    };
  }

  @Override
  public Integer call() throws Exception {
    if (anchors < 1 || anchors > 7) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(), "--anchors must be 1 to 7");
    }
    PrintWriter out = spec.commandLine().getOut();
    DevFabric.Options o = DevFabric.Options.fromBase(data, port, anchors);
    DevFabric fabric = DevFabric.start(o);
    java.util.List<Companion> companions = new java.util.ArrayList<>();
    companions.add(resolver(fabric, data, port, dnsPort));
    DevFabric.Published published =
        fabric.publishKey(Path.of(System.getProperty("user.home"), ".anf"));
    if (published.previous() != null) {
      spec.commandLine()
          .getErr()
          .printf(
              "anf dev: %s held a different key; it is now %s, and %s is this fabric's dev admin"
                  + " key%n",
              published.file(), published.previous(), published.file());
    }
    out.printf(
        "anf dev: %d anchors serving; data in %s (kept across restarts)%n",
        anchors, data.toAbsolutePath());
    for (AnchorNode n : fabric.nodes()) {
      out.printf(
          "  anchor %-3s grpc %s  raft %s  metrics %s%n",
          n.nodeId(),
          n.address(),
          n.raftAddress(),
          n.metricsAddress().isEmpty() ? "off" : "http://" + n.metricsAddress() + "/metrics");
    }
    out.printf(
        "  scopes: (root) %016x, %s%n", fabric.root(), String.join(", ", DevFabric.DEMO_SCOPES));
    for (Companion c : companions) {
      c.describe().forEach(l -> out.println("  " + l));
    }
    out.printf("  dev admin key: %s (also %s)%n", fabric.keyFile(), published.file());
    out.println("Try: bin/anf bind svc@demo/hello --endpoint 127.0.0.1:8080");
    out.println("     bin/anf resolve svc@demo/hello --trace");
    out.println("Stop with Ctrl-C.");
    out.flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  companions.forEach(Companion::close);
                  fabric.close();
                  stopped.countDown();
                },
                "anf-dev-shutdown"));
    stopped.await();
    return 0;
  }
}
