package org.anf.anchor.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Iterator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AliasEvent;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.WatchAliasRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.service.ResolverServiceImpl;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The resolver against a real 3-anchor fabric: walks, failover, serve-stale, Watch, restart. */
class ResolverIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ResolveOptions BOUNDED = ResolveOptions.DEFAULT;

  @TempDir Path dir;

  /** org → org@acme → org@acme/eu, each its own group under the root: four groups walked. */
  private static long[] fourGroups(FabricFixture f) {
    long org = f.fabric.createChild(f.fabric.root(), Alias.parse("org"));
    long acme = f.fabric.createChild(org, Alias.parse("org@acme"));
    long eu = f.fabric.createChild(acme, Alias.parse("org@acme/eu"));
    return new long[] {f.fabric.root(), org, acme, eu};
  }

  @Test
  void walksFourGroupsSurvivesOneAnchorPerGroupDownThenServesStaleAndFromDiskAfterRestart() {
    Path cacheDir = dir.resolve("resolver-cache");
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"))) {
      long[] scopes = fourGroups(f);
      Uid uid = f.bind(0, scopes[3], "org@acme/eu/gw", "10.0.0.7");
      ResolverConfig cfg = ResolverConfig.of(f.configuredAddresses()).withCacheDir(cacheDir);
      try (AnfResolver r = new AnfResolver(cfg)) {
        LookupResult res = r.resolve("org@acme/eu/gw", BOUNDED);
        assertThat(res.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(Uid.fromProto(res.getUid())).isEqualTo(uid);
        assertThat(res.getPathList())
            .extracting(PathStep::getScopeId)
            .containsExactly(scopes[0], scopes[1], scopes[2], scopes[3]);
        assertThat(res.getFreshness().getStale()).isFalse();
        assertThat(res.getRecord().getEndpoints(0).getHost()).isEqualTo("10.0.0.7");

        // One anchor of every group down: a cold resolver still walks all four groups, fresh.
        f.fabric.stop(0);
        try (AnfResolver cold = new AnfResolver(ResolverConfig.of(f.configuredAddresses()))) {
          FabricFixture.await(
              "a fresh answer with anchor 0 down",
              WAIT,
              () -> {
                LookupResult c = cold.resolve("org@acme/eu/gw", BOUNDED);
                return c.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                    && !c.getFreshness().getStale()
                    && Uid.fromProto(c.getUid()).equals(uid)
                    && c.getPathCount() == 4;
              });
          // Linearizable needs the groups that lost their leader to elect a new one first.
          ResolveOptions linear =
              new ResolveOptions(Consistency.CONSISTENCY_LINEARIZABLE, 0, false);
          FabricFixture.await(
              "a linearizable answer with anchor 0 down",
              WAIT,
              () ->
                  cold.resolve("org@acme/eu/gw", linear).getStatus()
                      == LookupStatus.LOOKUP_STATUS_EXACT);
          LookupResult lin = cold.resolve("org@acme/eu/gw", linear);
          assertThat(lin.getFreshness().getStale()).isFalse();
          assertThat(lin.getPathList()).noneMatch(s -> s.getAnchorId().equals("a1"));
        }

        // Every anchor down: the warm resolver answers from its cache, marked stale with an age.
        f.fabric.stop(1);
        f.fabric.stop(2);
        LookupResult stale = r.resolve("org@acme/eu/gw", BOUNDED);
        assertThat(stale.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(Uid.fromProto(stale.getUid())).isEqualTo(uid);
        assertThat(stale.getFreshness().getStale()).isTrue();
        assertThat(stale.getFreshness().getAgeMs()).isPositive();
        assertThat(stale.getPathList()).allMatch(PathStep::getCached);
        assertThat(stale.getDetail()).contains("served from cache");
        // Nothing cached for this one: a clear UNAVAILABLE, not a made-up answer.
        assertThatThrownBy(() -> r.resolve("org@acme/eu/never", BOUNDED))
            .isInstanceOfSatisfying(
                AnfException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
      }

      // Restarted with every anchor still down: the persisted cache answers, marked stale.
      try (AnfResolver again = new AnfResolver(cfg)) {
        LookupResult res = again.resolve("org@acme/eu/gw", BOUNDED);
        assertThat(res.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(Uid.fromProto(res.getUid())).isEqualTo(uid);
        assertThat(res.getFreshness().getStale()).isTrue();
        assertThat(res.getFreshness().getAgeMs()).isPositive();
      }
    }
  }

  @Test
  void renameReachesTheCacheThroughWatchNotTtl() {
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()))) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      Uid uid = f.bind(1, demo, "svc@demo/old", "10.1.1.1");
      LookupResult before = r.resolve("svc@demo/old", BOUNDED);
      assertThat(before.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
      assertThat(before.getTtlSeconds()).isGreaterThanOrEqualTo(60);
      // Once the Watch streams of every scope on the path are live, answers come from the cache.
      FabricFixture.await(
          "svc@demo/old served from the cache",
          WAIT,
          () ->
              r.resolve("svc@demo/old", BOUNDED).getPathList().stream()
                  .allMatch(PathStep::getCached));

      long renamedAt = System.nanoTime();
      f.submit(2, f.factory.rename(demo, Alias.parse("svc@demo/old"), Alias.parse("svc@demo/new")));
      FabricFixture.await(
          "old alias REDIRECTED",
          WAIT,
          () ->
              r.resolve("svc@demo/old", BOUNDED).getStatus()
                  == LookupStatus.LOOKUP_STATUS_REDIRECTED);
      long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - renamedAt);
      // Well inside the 60 s TTL: the lineage entry, not expiry, moved the cache.
      assertThat(tookMs).isLessThan(TimeUnit.SECONDS.toMillis(before.getTtlSeconds()));
      LookupResult after = r.resolve("svc@demo/old", BOUNDED);
      assertThat(Uid.fromProto(after.getUid())).isEqualTo(uid);
      assertThat(after.getCanonicalAlias().getText()).isEqualTo("svc@demo/new");
    }
  }

  @Test
  void resolverServiceResolvesAndWatchAliasFollowsARename() throws Exception {
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()));
        ResolverServiceImpl svc = new ResolverServiceImpl(r)) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      Uid uid = f.bind(0, demo, "svc@demo/watched", "10.2.2.2");
      Server server =
          NettyServerBuilder.forAddress(
                  new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0))
              .addService(svc)
              .build()
              .start();
      ManagedChannel ch =
          NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort()).usePlaintext().build();
      try {
        var stub = ResolverServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
        LookupResult res =
            stub.resolve(ResolveRequest.newBuilder().setName("svc@demo/watched").build());
        assertThat(Uid.fromProto(res.getUid())).isEqualTo(uid);
        assertThatThrownBy(
                () -> stub.resolve(ResolveRequest.newBuilder().setName("svc@@x").build()))
            .hasMessageContaining("INVALID_ARGUMENT")
            .hasMessageContaining("position");

        Iterator<AliasEvent> events =
            ResolverServiceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(60, TimeUnit.SECONDS)
                .watchAlias(WatchAliasRequest.newBuilder().setName("svc@demo/watched").build());
        AliasEvent first = events.next();
        assertThat(first.getResult().getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        FabricFixture.await("the watch on svc@demo is live", WAIT, () -> r.watching(demo));
        f.submit(
            1,
            f.factory.rename(
                demo, Alias.parse("svc@demo/watched"), Alias.parse("svc@demo/watched2")));
        AliasEvent renamed = events.next();
        assertThat(renamed.getResult().getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
        assertThat(renamed.getResult().getCanonicalAlias().getText())
            .isEqualTo("svc@demo/watched2");
        assertThat(Uid.fromProto(renamed.getResult().getUid())).isEqualTo(uid);
        assertThat(renamed.getEntry().getSeq()).isPositive();
      } finally {
        ch.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void tenThousandMalformedAndRandomNamesNeverCrashTheResolver() {
    long seed = Long.getLong("anf.seed", System.nanoTime());
    System.out.println("ResolverIT fuzz seed: " + seed + " (rerun with -Danf.seed=" + seed + ")");
    Random rnd = new Random(seed);
    String[] valid = {
      "svc@demo/hello", "user@elizabeth/iot//3f9a", "svc", "uid:0000000000000001-0000-000000000001"
    };
    String alphabet = "abz09@/.-_:/ \t\u00e9\u0000\u202e%*";
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()))) {
      int answered = 0;
      int refused = 0;
      for (int i = 0; i < 10_000; i++) {
        String name;
        if (rnd.nextBoolean()) {
          StringBuilder b = new StringBuilder(valid[rnd.nextInt(valid.length)]);
          int edits = 1 + rnd.nextInt(4);
          for (int k = 0; k < edits; k++) {
            int pos = rnd.nextInt(b.length() + 1);
            char c = alphabet.charAt(rnd.nextInt(alphabet.length()));
            switch (rnd.nextInt(3)) {
              case 0 -> b.insert(pos, c);
              case 1 -> {
                if (pos < b.length()) {
                  b.deleteCharAt(pos);
                }
              }
              default -> {
                if (pos < b.length()) {
                  b.setCharAt(pos, c);
                }
              }
            }
          }
          name = b.toString();
        } else {
          StringBuilder b = new StringBuilder();
          int len = rnd.nextInt(rnd.nextInt(10) == 0 ? 1200 : 40);
          for (int k = 0; k < len; k++) {
            b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
          }
          name = b.toString();
        }
        try {
          LookupResult res = r.resolve(name, BOUNDED);
          assertThat(res.getStatus()).isNotEqualTo(LookupStatus.LOOKUP_STATUS_UNSPECIFIED);
          answered++;
        } catch (AnfException e) {
          assertThat(e.code().isCallerError())
              .as("'%s' gave %s: %s", name, e.code(), e.getMessage())
              .isTrue();
          refused++;
        }
      }
      System.out.println("fuzz: " + answered + " answered, " + refused + " refused as bad input");
      assertThat(answered + refused).isEqualTo(10_000);
      assertThat(r.resolve("svc@demo/fuzz-after", BOUNDED).getStatus())
          .isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
    }
  }
}
