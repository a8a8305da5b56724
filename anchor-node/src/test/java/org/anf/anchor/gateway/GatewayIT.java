package org.anf.anchor.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.dev.DevFabric;
import org.anf.dns.gateway.GatewayConfig;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SubmitRequest;
import org.anf.resolver.ResolverConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `dig` against the DNS gateway of a resolver process over a real 3-anchor fabric. */
class GatewayIT {
  @TempDir Path dir;

  static String dig(int port, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", String.valueOf(port)));
    cmd.addAll(List.of("+time=5", "+tries=1"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    return out;
  }

  @Test
  void digAnswersAliasesThroughTheResolverAndTheResolverServiceServes() throws Exception {
    try (DevFabric f = DevFabric.start(DevFabric.Options.ephemeral(dir.resolve("fabric"), 3))) {
      long demo = f.scopeOf(Alias.parse("svc@demo"));
      MutationFactory factory =
          new MutationFactory(new java.security.SecureRandom(), System::currentTimeMillis);
      var ch =
          io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(
                  f.nodes().get(0).address())
              .usePlaintext()
              .build();
      try {
        ObjectRecord rec =
            ObjectRecord.newBuilder()
                .addEndpoints(Endpoint.newBuilder().setHost("10.3.3.3").setPort(8443))
                .addEndpoints(Endpoint.newBuilder().setHost("fd00::3"))
                .build();
        MutationServiceGrpc.newBlockingStub(ch)
            .submit(
                SubmitRequest.newBuilder()
                    .setMutation(
                        Signing.sign(
                            factory.bind(demo, Alias.parse("svc@demo/gw"), rec), f.admin()))
                    .build());
      } finally {
        ch.shutdownNow();
      }
      List<String> seeds = new ArrayList<>();
      f.nodes().forEach(n -> seeds.add(n.address()));
      ResolverProcessConfig c =
          new ResolverProcessConfig(
              ResolverConfig.of(seeds).withCacheDir(dir.resolve("cache")),
              "127.0.0.1",
              0,
              -1,
              GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
              null);
      try (ResolverProcess p = ResolverProcess.start(c)) {
        int port = p.dnsPort();
        assertThat(dig(port, "gw.demo.svc.anf", "A", "+short").strip()).isEqualTo("10.3.3.3");
        assertThat(dig(port, "gw.demo.svc.anf", "AAAA", "+short").strip()).isEqualTo("fd00::3");
        assertThat(dig(port, "gw.demo.svc.anf", "TXT", "+short"))
            .contains("\"alias=svc@demo/gw\"")
            .contains("\"uid=uid:");
        assertThat(dig(port, "gw.demo.svc.anf", "SRV", "+short")).contains("8443");
        assertThat(dig(port, "nothing.demo.svc.anf", "A")).contains("status: NXDOMAIN");
        assertThat(dig(port, "example.org", "A")).contains("status: REFUSED");
        assertThat(p.describe()).anyMatch(l -> l.contains("dig @127.0.0.1 -p " + port));
      }
      // The cache was persisted on close.
      assertThat(Files.exists(dir.resolve("cache").resolve("resolver-cache.pb"))).isTrue();
    }
  }

  private static void anf(DevFabric f, String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("--server=" + f.nodes().get(0).address());
    all.add("--key=" + f.keyFile());
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int code =
        org.anf.anchor.cli.Anf.run(
            all.toArray(String[]::new),
            new java.io.PrintWriter(out, true),
            new java.io.PrintWriter(err, true));
    assertThat(code).as("anf %s: %s %s", all, out, err).isZero();
  }

  @Test
  void digOfAnOldNameAfterRenameAndMoveAnswersTheNewDataAndRedirectedFrom() throws Exception {
    try (DevFabric f = DevFabric.start(DevFabric.Options.ephemeral(dir.resolve("fabric"), 3))) {
      anf(f, "bind", "svc@demo/old", "--endpoint", "10.4.4.4");
      anf(f, "bind", "user@alice/inbox", "--endpoint", "10.5.5.5");
      anf(f, "bind", "svc@demo/box", "--endpoint", "10.6.6.6");
      List<String> seeds = new ArrayList<>();
      f.nodes().forEach(n -> seeds.add(n.address()));
      ResolverProcessConfig c =
          new ResolverProcessConfig(
              ResolverConfig.of(seeds),
              "127.0.0.1",
              0,
              -1,
              GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
              null);
      try (ResolverProcess p = ResolverProcess.start(c)) {
        int port = p.dnsPort();
        assertThat(dig(port, "old.demo.svc.anf", "A", "+short").strip()).isEqualTo("10.4.4.4");
        anf(f, "rename", "svc@demo/old", "svc@demo/new");
        org.anf.anchor.testing.TestCluster.await(
            "old name redirected over DNS",
            java.time.Duration.ofSeconds(30),
            () -> {
              try {
                return dig(port, "old.demo.svc.anf", "TXT", "+short")
                    .contains("redirected-from=svc@demo/old");
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
        assertThat(dig(port, "old.demo.svc.anf", "A", "+short").strip()).isEqualTo("10.4.4.4");
        assertThat(dig(port, "old.demo.svc.anf", "TXT", "+short")).contains("alias=svc@demo/new");

        anf(f, "move", "svc@demo/box", "user@alice");
        org.anf.anchor.testing.TestCluster.await(
            "moved name redirected over DNS",
            java.time.Duration.ofSeconds(30),
            () -> {
              try {
                return dig(port, "box.demo.svc.anf", "TXT", "+short")
                    .contains("redirected-from=svc@demo/box");
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            });
        assertThat(dig(port, "box.demo.svc.anf", "A", "+short").strip()).isEqualTo("10.6.6.6");
        assertThat(dig(port, "box.demo.svc.anf", "TXT", "+short")).contains("alias=user@alice/box");
        assertThat(dig(port, "box.alice.user.anf", "A", "+short").strip()).isEqualTo("10.6.6.6");
      }
    }
  }

  @Test
  void configFileErrorsNameTheKey() {
    Path base = dir;
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ResolverProcessConfig.parse("listen: 127.0.0.1:7450\n", base, "r.yaml"))
        .hasMessageContaining("r.yaml: seeds: required");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> ResolverProcessConfig.parse("seeds: [a:1]\nbogus: 1\n", base, "r.yaml"))
        .hasMessageContaining("r.yaml: bogus: unknown key");
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () ->
                ResolverProcessConfig.parse(
                    "seeds: [a:1]\nfallback: {upstreams: [dns.example:53], allowed_zones: [x.]}\n",
                    base,
                    "r.yaml"))
        .hasMessageContaining("must be an IP literal");
    ResolverProcessConfig ok =
        ResolverProcessConfig.parse(
            "seeds: [127.0.0.1:7400]\ndns: {listen: 127.0.0.1:0}\n"
                + "fallback: {upstreams: [127.0.0.1:5353], allowed_zones: [example.org.]}\n",
            base,
            "r.yaml");
    assertThat(ok.resolver().cacheDir()).isEqualTo(base.resolve("resolver-cache"));
    assertThat(ok.fallback()).isNotNull();
    assertThat(ok.listenPort()).isEqualTo(7450);
  }
}
