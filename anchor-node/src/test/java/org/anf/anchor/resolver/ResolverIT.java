package org.anf.anchor.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AliasEvent;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectKind;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.ResolveBatchError;
import org.anf.proto.v1.ResolveBatchRequest;
import org.anf.proto.v1.ResolveBatchResponse;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.SubmitResponse;
import org.anf.proto.v1.WatchAliasRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.service.ResolverServiceImpl;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The resolver against real fabrics (Ratis groups, RocksDB, gRPC on loopback): delegation walks
 * across groups on different anchors, failover, serve-stale, Watch-driven coherence, consistency on
 * cache hits, revocation, the persisted cache, and the gRPC ResolverService.
 */
class ResolverIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ResolveOptions BOUNDED = ResolveOptions.DEFAULT;
  private static final ResolveOptions LINEAR =
      new ResolveOptions(Consistency.CONSISTENCY_LINEARIZABLE, 0, false);
  private static final ResolveOptions ANY =
      new ResolveOptions(Consistency.CONSISTENCY_ANY, 0, false);

  @TempDir Path dir;

  private static ResolveOptions bounded(int ms) {
    return new ResolveOptions(Consistency.CONSISTENCY_BOUNDED, ms, false);
  }

  /** Wall time plus an offset the test moves: TTLs and ages without waiting. */
  static final class MovableClock extends Clock {
    final AtomicLong offsetMs = new AtomicLong();

    void advance(Duration d) {
      offsetMs.addAndGet(d.toMillis());
    }

    @Override
    public long millis() {
      return System.currentTimeMillis() + offsetMs.get();
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(millis());
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }
  }

  /** Times the test moves, and timeouts short enough that a fabric that is down fails fast. */
  private static ResolverConfig movableWithShortTimeouts(FabricFixture f, MovableClock clock) {
    return ResolverConfig.of(f.configuredAddresses())
        .withClock(clock)
        .withTimeouts(Duration.ofSeconds(2), Duration.ofMillis(50), Duration.ofSeconds(5));
  }

  private static boolean allCached(LookupResult r) {
    return r.getPathCount() > 0 && r.getPathList().stream().allMatch(PathStep::getCached);
  }

  private static boolean noneCached(LookupResult r) {
    return r.getPathCount() > 0 && r.getPathList().stream().noneMatch(PathStep::getCached);
  }

  /**
   * Must-show 1 and 2. Five anchors host the root; org, org@acme and org@acme/eu are groups of
   * three on different subsets, and the resolver is seeded with two root anchors that host none of
   * the leaf's group, so an answer for the leaf can only come from following delegation anchor
   * lists. Then: a rename reaches the cache by Watch; one anchor of every group down, a cold walk
   * is still fresh; the leaf's whole group down, the cache answers stale with its age; every anchor
   * down, a restarted resolver answers from its file, stale.
   */
  @Test
  void fourScopesOnFourGroupsOfDifferentAnchorsAreWalkedByDelegationNotBySeeds() {
    Path cacheDir = dir.resolve("resolver-cache");
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"), 5, List.of())) {
      long root = f.fabric.root();
      long org = f.fabric.createChild(root, Alias.parse("org"), List.of(0, 1, 2));
      long acme = f.fabric.createChild(org, Alias.parse("org@acme"), List.of(0, 3, 4));
      long eu = f.fabric.createChild(acme, Alias.parse("org@acme/eu"), List.of(0, 2, 3));
      Map<Long, List<String>> groups =
          Map.of(
              root, f.members(root), org, f.members(org), acme, f.members(acme), eu, f.members(eu));
      assertThat(groups.get(root)).hasSize(5);
      assertThat(Set.of(groups.get(org), groups.get(acme), groups.get(eu))).hasSize(3);
      // Seeds: root anchors a2 and a5, neither of which hosts org@acme/eu.
      List<String> seeds = List.of(f.address(1), f.address(4));
      assertThat(groups.get(eu)).doesNotContain("a2", "a5");

      Uid uid = f.bind(0, eu, "org@acme/eu/gw", "10.0.0.7");
      Uid oldUid = f.bind(0, eu, "org@acme/eu/old", "10.0.0.8");
      MeterRegistry registry = new SimpleMeterRegistry();
      ResolverConfig cfg = ResolverConfig.of(seeds).withCacheDir(cacheDir);
      try (AnfResolver r = new AnfResolver(cfg, null, registry)) {
        LookupResult res = r.resolve("org@acme/eu/gw", BOUNDED);
        assertThat(res.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(Uid.fromProto(res.getUid())).isEqualTo(uid);
        assertThat(res.getPathList())
            .extracting(PathStep::getScopeId)
            .containsExactly(root, org, acme, eu);
        for (PathStep s : res.getPathList()) {
          assertThat(groups.get(s.getScopeId()))
              .as("anchor of step %s", s.getScope().getText())
              .contains(s.getAnchorId());
        }
        assertThat(res.getPath(0).getAnchorId()).isIn("a2", "a5");
        assertThat(res.getFreshness().getStale()).isFalse();
        assertThat(res.getRecord().getEndpoints(0).getHost()).isEqualTo("10.0.0.7");

        // A rename reaches the cache as a Watch entry: the first resolve after it is REDIRECTED.
        assertThat(r.resolve("org@acme/eu/old", BOUNDED).getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        FabricFixture.await(
            "org@acme/eu/old served from the cache (Watch streams live)",
            WAIT,
            () -> allCached(r.resolve("org@acme/eu/old", BOUNDED)));
        AtomicLong seen = new AtomicLong();
        r.onLineage(
            (scope, e) -> {
              if (scope == eu) {
                seen.accumulateAndGet(e.getSeq(), Math::max);
              }
            });
        SubmitResponse rename =
            f.submit(
                2,
                f.factory.rename(
                    eu, Alias.parse("org@acme/eu/old"), Alias.parse("org@acme/eu/new")));
        long renamedAt = rename.getEntry().getSeq();
        FabricFixture.await(
            "the rename's entry on the resolver's Watch", WAIT, () -> seen.get() >= renamedAt);
        // One resolve, no retrying: an anchor that has not applied the entry yet is not believed.
        LookupResult after = r.resolve("org@acme/eu/old", BOUNDED);
        assertThat(after.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
        assertThat(Uid.fromProto(after.getUid())).isEqualTo(oldUid);
        assertThat(after.getCanonicalAlias().getText()).isEqualTo("org@acme/eu/new");

        // Anchor a1 is in every group: down, each group has lost one anchor.
        f.fabric.stop(0);
        try (AnfResolver cold = new AnfResolver(ResolverConfig.of(seeds))) {
          FabricFixture.await(
              "a fresh 4-group answer with a1 down",
              WAIT,
              () -> {
                LookupResult c = cold.resolve("org@acme/eu/gw", BOUNDED);
                return c.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                    && !c.getFreshness().getStale()
                    && c.getPathCount() == 4;
              });
          // A linearizable read needs a leader: the groups a1 led are electing one meanwhile.
          FabricFixture.await(
              "a linearizable answer with a1 down",
              WAIT,
              () -> {
                try {
                  cold.resolve("org@acme/eu/gw", LINEAR);
                  return true;
                } catch (AnfException e) {
                  assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
                  return false;
                }
              });
          LookupResult c = cold.resolve("org@acme/eu/gw", LINEAR);
          assertThat(Uid.fromProto(c.getUid())).isEqualTo(uid);
          assertThat(c.getFreshness().getStale()).isFalse();
          for (PathStep s : c.getPathList()) {
            assertThat(s.getAnchorId()).isNotEqualTo("a1");
            assertThat(groups.get(s.getScopeId())).contains(s.getAnchorId());
          }
        }
        // The warm resolver refreshes what the rename invalidated, fresh, before the outage.
        FabricFixture.await(
            "a fresh answer for gw in the warm resolver's cache",
            WAIT,
            () -> !r.resolve("org@acme/eu/gw", LINEAR).getFreshness().getStale());

        // Every anchor of the leaf's group down: the cache answers, marked stale with its age.
        f.fabric.stop(2);
        f.fabric.stop(3);
        FabricFixture.await("the Watch of org@acme/eu down", WAIT, () -> !r.watching(eu));
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

        // The resolver's meters are registered and moved.
        double resolves =
            registry.get("anf.resolver.resolves").counters().stream()
                .mapToDouble(io.micrometer.core.instrument.Counter::count)
                .sum();
        assertThat(resolves).isPositive();
        assertThat(registry.get("anf.resolver.cache.hits").counter().count()).isPositive();
        assertThat(registry.get("anf.resolver.cache.misses").counter().count()).isPositive();
        double ratio = registry.get("anf.resolver.cache.hit.ratio").gauge().value();
        assertThat(ratio).isStrictlyBetween(0.0, 1.0).isEqualTo(r.cacheHitRatio());
        assertThat(registry.get("anf.resolver.stale.served").counter().count()).isPositive();
        assertThat(registry.get("anf.resolver.walk").timer().count()).isPositive();
        assertThat(registry.get("anf.resolver.walk").timer().totalTime(TimeUnit.NANOSECONDS))
            .isPositive();
        // Registered; it moves in DnsFallbackResolverIT (no fallback here).
        assertThat(registry.get("anf.resolver.fallbacks").counter().count()).isZero();
      }

      // Restarted with every anchor down: the persisted cache answers, marked stale.
      f.fabric.stop(1);
      f.fabric.stop(4);
      try (AnfResolver again = new AnfResolver(cfg)) {
        LookupResult res = again.resolve("org@acme/eu/gw", BOUNDED);
        assertThat(res.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(Uid.fromProto(res.getUid())).isEqualTo(uid);
        assertThat(res.getFreshness().getStale()).isTrue();
        assertThat(res.getFreshness().getAgeMs()).isPositive();
        LookupResult renamed = again.resolve("org@acme/eu/old", BOUNDED);
        assertThat(renamed.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
        assertThat(renamed.getFreshness().getStale()).isTrue();
      }
    }
  }

  /**
   * Delegations live for the parent's cache TTL; and a resolver started from its file watches the
   * parents of the delegations it loaded from where it learned them, so a structural change made
   * while it was down drops them.
   */
  @Test
  void delegationsExpireWithTheParentsTtlAndLoadedOnesAreWatchedFromWhereTheyWereLearned() {
    Path cacheDir = dir.resolve("resolver-cache");
    MovableClock clock = new MovableClock();
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"))) {
      long svc = f.fabric.scopeOf(Alias.parse("svc"));
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      for (String l : List.of("x", "y", "z")) {
        f.bind(0, demo, "svc@demo/" + l, "10.3.3.3");
      }
      ResolverConfig cfg =
          ResolverConfig.of(f.configuredAddresses()).withCacheDir(cacheDir).withClock(clock);
      try (AnfResolver r = new AnfResolver(cfg)) {
        assertThat(r.resolve("svc@demo/x", BOUNDED).getPathCount()).isEqualTo(3);
        // The delegation to svc@demo is cached: the next name starts there.
        LookupResult y = r.resolve("svc@demo/y", BOUNDED);
        assertThat(y.getPathList()).extracting(PathStep::getScopeId).containsExactly(demo);
        // Past the parent policy's cache TTL it is not trusted: the walk starts at the root.
        clock.advance(Duration.ofSeconds(Policies.DEFAULT_CACHE_TTL_SECONDS + 5));
        assertThat(r.resolve("svc@demo/z", BOUNDED).getPathCount()).isEqualTo(3);
        assertThat(r.resolve("svc@demo/x", LINEAR).getPathCount()).isEqualTo(1);
        // Persisted with the rest (on close).
        assertThat(r.knowsDelegation("svc@demo")).isTrue();
      }

      // While no resolver runs, svc gains a delegation: a structural entry of svc's lineage.
      long other = f.fabric.createChild(svc, Alias.parse("svc@other"));
      f.bind(0, other, "svc@other/w", "10.4.4.4");

      try (AnfResolver again = new AnfResolver(cfg)) {
        FabricFixture.await(
            "the delegation svc gave dropped by the replayed entry",
            WAIT,
            () -> !again.knowsDelegation("svc@demo"));
        // The delegation from the root to svc is untouched: the walk starts at svc.
        assertThat(again.knowsDelegation("svc")).isTrue();
        LookupResult x = again.resolve("svc@demo/x", LINEAR);
        assertThat(x.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(x.getPathList()).extracting(PathStep::getScopeId).containsExactly(svc, demo);
        assertThat(again.resolve("svc@other/w", BOUNDED).getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
      }
    }
  }

  /**
   * A cached answer is served by consistency: LINEARIZABLE never; BOUNDED when coherent (Watch
   * live) or younger than its bound; ANY within its TTL. Staleness is never silent.
   */
  @Test
  void cacheHitsFollowTheRequestedConsistency() {
    MovableClock clock = new MovableClock();
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"))) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      f.bind(0, demo, "svc@demo/c", "10.5.5.5");
      ResolverConfig cfg = movableWithShortTimeouts(f, clock);
      try (AnfResolver r = new AnfResolver(cfg)) {
        assertThat(noneCached(r.resolve("svc@demo/c", BOUNDED))).isTrue();
        FabricFixture.await(
            "svc@demo/c coherent in the cache",
            WAIT,
            () -> allCached(r.resolve("svc@demo/c", BOUNDED)));
        // Coherent: every BOUNDED hit is served, whatever its bound, and ANY too.
        assertThat(allCached(r.resolve("svc@demo/c", bounded(1)))).isTrue();
        assertThat(allCached(r.resolve("svc@demo/c", ANY))).isTrue();
        // LINEARIZABLE always asks the anchors.
        LookupResult lin = r.resolve("svc@demo/c", LINEAR);
        assertThat(noneCached(lin)).isTrue();
        assertThat(lin.getFreshness().getStale()).isFalse();

        // A hit's TTL counts down with the time it has been kept, as a DNS cache's would.
        int ttl = lin.getTtlSeconds();
        clock.advance(Duration.ofSeconds(3));
        LookupResult kept = r.resolve("svc@demo/c", ANY);
        assertThat(allCached(kept)).isTrue();
        assertThat(kept.getTtlSeconds()).isEqualTo(ttl - 3);

        // Every anchor down: the Watch streams break, hits are no longer coherent, and the
        // generation moves (what was built from coherent hits, such as DNS replies, is dropped).
        long generation = r.generation();
        for (int i = 0; i < 3; i++) {
          f.fabric.stop(i);
        }
        FabricFixture.await("the Watch of svc@demo down", WAIT, () -> !r.watching(demo));
        assertThat(r.generation()).isNotEqualTo(generation);
        clock.advance(Duration.ofSeconds(10));

        LookupResult young = r.resolve("svc@demo/c", bounded(60_000));
        assertThat(allCached(young)).isTrue();
        assertThat(young.getFreshness().getStale()).isFalse();
        assertThat(young.getFreshness().getAgeMs()).isGreaterThanOrEqualTo(10_000);

        LookupResult tooOld = r.resolve("svc@demo/c", bounded(5_000));
        assertThat(tooOld.getFreshness().getStale()).isTrue();
        assertThat(tooOld.getDetail()).contains("served from cache");
        assertThat(r.resolve("svc@demo/c", BOUNDED).getFreshness().getStale()).isTrue();

        // ANY always answers from the cache within the TTL, but no watch vouches for it now:
        // it says so (staleness is never silent).
        LookupResult any = r.resolve("svc@demo/c", ANY);
        assertThat(allCached(any)).isTrue();
        assertThat(any.getFreshness().getStale()).isTrue();
        assertThat(any.getFreshness().getAgeMs()).isGreaterThanOrEqualTo(10_000);

        assertThatThrownBy(() -> r.resolve("svc@demo/c", LINEAR))
            .isInstanceOfSatisfying(
                AnfException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
      }
    }
  }

  /**
   * Past its TTL, an answer whose scopes' watches are live and saw nothing new is kept for another
   * TTL without a walk (a walk could only bring it back); once its scope commits, or with its
   * anchors down, it is asked again.
   */
  @Test
  void anAnswerPastItsTtlIsRenewedOnlyWhileLiveWatchesShowItsScopesUnchanged() {
    MovableClock clock = new MovableClock();
    MeterRegistry registry = new SimpleMeterRegistry();
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"))) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      f.bind(0, demo, "svc@demo/keep", "10.6.6.6");
      ResolverConfig cfg = movableWithShortTimeouts(f, clock);
      try (AnfResolver r = new AnfResolver(cfg, null, registry)) {
        LookupResult first = r.resolve("svc@demo/keep", BOUNDED);
        assertThat(noneCached(first)).isTrue();
        int ttl = first.getTtlSeconds();
        assertThat(ttl).isPositive();
        FabricFixture.await(
            "svc@demo/keep coherent in the cache",
            WAIT,
            () -> allCached(r.resolve("svc@demo/keep", BOUNDED)));
        long walks = registry.get("anf.resolver.walk").timer().count();

        clock.advance(Duration.ofSeconds(ttl + 5L));
        LookupResult renewed = r.resolve("svc@demo/keep", BOUNDED);
        assertThat(allCached(renewed)).isTrue();
        assertThat(renewed.getFreshness().getStale()).isFalse();
        assertThat(renewed.getTtlSeconds()).isEqualTo(ttl);
        assertThat(registry.get("anf.resolver.cache.renewed").counter().count()).isEqualTo(1.0);
        assertThat(registry.get("anf.resolver.walk").timer().count()).isEqualTo(walks);

        // The scope commits something else: the watch no longer vouches for the answer, which is
        // walked again (at the new lineage position) rather than renewed.
        f.bind(0, demo, "svc@demo/other", "10.6.6.7");
        FabricFixture.await(
            "svc@demo/keep walked again after its scope moved",
            WAIT,
            () -> noneCached(r.resolve("svc@demo/keep", BOUNDED)));
        FabricFixture.await(
            "svc@demo/keep coherent again",
            WAIT,
            () -> allCached(r.resolve("svc@demo/keep", BOUNDED)));

        // Every anchor down: no live watch, so past its TTL the answer is not renewed; the walk
        // fails and it is served from the cache marked stale.
        for (int i = 0; i < 3; i++) {
          f.fabric.stop(i);
        }
        FabricFixture.await("the Watch of svc@demo down", WAIT, () -> !r.watching(demo));
        double renewals = registry.get("anf.resolver.cache.renewed").counter().count();
        clock.advance(Duration.ofSeconds(ttl + 5L));
        LookupResult down = r.resolve("svc@demo/keep", BOUNDED);
        assertThat(down.getFreshness().getStale()).isTrue();
        assertThat(down.getDetail()).contains("served from cache");
        assertThat(registry.get("anf.resolver.cache.renewed").counter().count())
            .isEqualTo(renewals);
      }
    }
  }

  /**
   * A revoked device answers REVOKED as soon as the revocation's entry arrives (the resolver
   * re-asks what it may have changed, unasked), and from the persisted cache after a restart with
   * every anchor down: by its alias and by its uid:.
   */
  @Test
  void aRevokedDeviceAnswersRevokedAlsoFromThePersistedCacheWithEveryAnchorDown() {
    Path cacheDir = dir.resolve("resolver-cache");
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"))) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      byte[] deviceKey = Ed25519.generate(new SecureRandom()).publicKey();
      SubmitResponse reg =
          f.submit(
              0,
              f.factory.registerDevice(
                  demo,
                  Alias.parse("svc@demo/thermo"),
                  "d3v1ce",
                  deviceKey,
                  ObjectRecord.newBuilder()
                      .addEndpoints(org.anf.proto.v1.Endpoint.newBuilder().setHost("10.6.6.6"))
                      .build()));
      f.awaitApplied(demo, reg.getEntry().getSeq());
      String uid = Uid.fromProto(reg.getUid()).text();
      ResolverConfig cfg = ResolverConfig.of(f.configuredAddresses()).withCacheDir(cacheDir);
      try (AnfResolver r = new AnfResolver(cfg)) {
        LookupResult dev = r.resolve("svc@demo/thermo", BOUNDED);
        assertThat(dev.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(dev.getRecord().getKind()).isEqualTo(ObjectKind.OBJECT_KIND_DEVICE);
        assertThat(r.resolve(uid, BOUNDED).getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        FabricFixture.await(
            "both answers coherent in the cache",
            WAIT,
            () ->
                r.cachedOrNull("svc@demo/thermo", BOUNDED) != null
                    && r.cachedOrNull(uid, BOUNDED) != null);

        f.submit(1, f.factory.revokeDevice(demo, "d3v1ce", "reported stolen"));
        // Nobody resolves it: the entry alone makes the cache say REVOKED.
        FabricFixture.await(
            "REVOKED in the cache for the alias and the uid:",
            WAIT,
            () -> revokedInCache(r, "svc@demo/thermo") && revokedInCache(r, uid));
        assertThat(r.resolve("svc@demo/thermo", BOUNDED).getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_REVOKED);
      }
      for (int i = 0; i < 3; i++) {
        f.fabric.stop(i);
      }
      try (AnfResolver again = new AnfResolver(cfg)) {
        for (String name : List.of("svc@demo/thermo", uid)) {
          LookupResult res = again.resolve(name, BOUNDED);
          assertThat(res.getStatus()).as(name).isEqualTo(LookupStatus.LOOKUP_STATUS_REVOKED);
          assertThat(res.getFreshness().getStale()).isTrue();
          assertThat(res.hasRecord()).isFalse();
        }
      }
    }
  }

  private static boolean revokedInCache(AnfResolver r, String name) {
    LookupResult c = r.cachedOrNull(name, BOUNDED);
    return c != null && c.getStatus() == LookupStatus.LOOKUP_STATUS_REVOKED;
  }

  private static Server serve(ResolverServiceImpl svc) throws IOException {
    return NettyServerBuilder.forAddress(
            new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0))
        .addService(svc)
        .build()
        .start();
  }

  /**
   * ResolverService over gRPC: Resolve, ResolveBatch with a bad name among good ones, and
   * WatchAlias following a rename, then a move to another scope, then a rename there; a cancelled
   * WatchAlias lets go of the resolver at once.
   */
  @Test
  void resolverServiceBatchesAndWatchAliasFollowsRenamesAndACrossScopeMove() throws Exception {
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()));
        ResolverServiceImpl svc = new ResolverServiceImpl(r)) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      long user = f.fabric.scopeOf(Alias.parse("user"));
      Uid uid = f.bind(0, demo, "svc@demo/watched", "10.2.2.2");
      Server server = serve(svc);
      ManagedChannel ch =
          NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort()).usePlaintext().build();
      Context.CancellableContext watchContext = Context.current().withCancellation();
      try {
        var stub = ResolverServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS);
        LookupResult res =
            stub.resolve(ResolveRequest.newBuilder().setName("svc@demo/watched").build());
        assertThat(Uid.fromProto(res.getUid())).isEqualTo(uid);
        assertThatThrownBy(
                () -> stub.resolve(ResolveRequest.newBuilder().setName("svc@@x").build()))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                  assertThat(e.getStatus().getDescription()).contains("position 4");
                });

        ResolveBatchResponse batch =
            stub.resolveBatch(
                ResolveBatchRequest.newBuilder()
                    .addRequests(ResolveRequest.newBuilder().setName("svc@demo/watched"))
                    .addRequests(ResolveRequest.newBuilder().setName("svc@@x"))
                    .addRequests(ResolveRequest.newBuilder().setName("svc@demo/absent"))
                    .build());
        assertThat(batch.getResultsList())
            .extracting(LookupResult::getStatus)
            .containsExactly(
                LookupStatus.LOOKUP_STATUS_EXACT,
                LookupStatus.LOOKUP_STATUS_UNSPECIFIED,
                LookupStatus.LOOKUP_STATUS_NOT_FOUND);
        assertThat(batch.getResults(1).getDetail()).startsWith("INVALID_ARGUMENT: ");
        assertThat(batch.getErrorsList()).hasSize(1);
        ResolveBatchError err = batch.getErrors(0);
        assertThat(err.getIndex()).isEqualTo(1);
        assertThat(err.getStatus()).isEqualTo("INVALID_ARGUMENT");
        assertThat(err.getMessage()).contains("position 4");
        assertThat(err.getDetail().getCode()).isEqualTo("ALIAS_SYNTAX");
        assertThat(err.getDetail().getPosition()).isEqualTo(4);

        Iterator<AliasEvent> events =
            watchContext.call(
                () ->
                    ResolverServiceGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(120, TimeUnit.SECONDS)
                        .watchAlias(
                            WatchAliasRequest.newBuilder().setName("svc@demo/watched").build()));
        AliasEvent first = events.next();
        assertThat(first.getResult().getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        FabricFixture.await("the watch on svc@demo is live", WAIT, () -> r.watching(demo));

        // A rename inside the scope.
        f.submit(
            1,
            f.factory.rename(
                demo, Alias.parse("svc@demo/watched"), Alias.parse("svc@demo/watched2")));
        assertThat(nextUntil(events, "svc@demo/watched2").getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);

        // A move to another scope (another group's lineage) through StructureService.
        f.move(0, demo, "svc@demo/watched2", user, "user@watched3");
        LookupResult moved = nextUntil(events, "user@watched3");
        assertThat(moved.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
        assertThat(Uid.fromProto(moved.getUid())).isEqualTo(uid);

        // Followed there: a rename in the destination scope is an event too.
        FabricFixture.await("the watch on user is live", WAIT, () -> r.watching(user));
        f.submit(
            2, f.factory.rename(user, Alias.parse("user@watched3"), Alias.parse("user@watched4")));
        LookupResult renamedThere = nextUntil(events, "user@watched4");
        assertThat(renamedThere.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
        assertThat(Uid.fromProto(renamedThere.getUid())).isEqualTo(uid);

        // Cancelled: the server lets go of the resolver's lineage listener.
        assertThat(r.lineageListeners()).isEqualTo(1);
        watchContext.cancel(null);
        FabricFixture.await("WatchAlias's listener removed", WAIT, () -> r.lineageListeners() == 0);
      } finally {
        watchContext.cancel(null);
        ch.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** The next events until one whose canonical alias is {@code canonical}; at most ten. */
  private static LookupResult nextUntil(Iterator<AliasEvent> events, String canonical) {
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      AliasEvent e = events.next();
      assertThat(e.getEntry().getSeq()).isPositive();
      LookupResult res = e.getResult();
      seen.add(res.getStatus() + " " + res.getCanonicalAlias().getText());
      if (res.getCanonicalAlias().getText().equals(canonical)) {
        return res;
      }
    }
    throw new AssertionError("no event with canonical alias " + canonical + " in " + seen);
  }

  /** What the resolver's own parsing says of a name: null when it is a valid alias or UID. */
  private static @Nullable AnfException parseError(String name) {
    String n = name.strip();
    if (n.isEmpty()) {
      return new AnfException(ErrorCode.ALIAS_SYNTAX, "empty", 0, null, null);
    }
    try {
      if (Uid.looksLikeUid(n)) {
        Uid.parse(n);
      } else {
        Alias.parse(n);
      }
      return null;
    } catch (AnfException e) {
      return e;
    }
  }

  private static String fuzzName(Random rnd) {
    String[] valid = {
      "svc@demo/hello", "user@elizabeth/iot//3f9a", "svc", "uid:0000000000000001-0000-000000000001"
    };
    String alphabet = "abz09@/.-_:/ \t\u00e9\u0000\u202e%*";
    StringBuilder b;
    if (rnd.nextBoolean()) {
      b = new StringBuilder(valid[rnd.nextInt(valid.length)]);
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
    } else {
      b = new StringBuilder();
      int len = rnd.nextInt(rnd.nextInt(10) == 0 ? 1200 : 40);
      for (int k = 0; k < len; k++) {
        b.append(alphabet.charAt(rnd.nextInt(alphabet.length())));
      }
    }
    return b.toString();
  }

  /**
   * Must-show 4, resolver side: 10,000 random and mutated names over gRPC (batches, and single
   * Resolve calls in parallel). Each name the alias or UID grammar rejects gets INVALID_ARGUMENT
   * naming the position; each valid one a typed answer; the resolver answers afterwards.
   */
  @Test
  void tenThousandMalformedAndRandomNamesOverGrpcGetInvalidArgumentWithThePosition()
      throws Exception {
    long seed = Long.getLong("anf.seed", System.nanoTime());
    System.out.println("ResolverIT fuzz seed: " + seed + " (rerun with -Danf.seed=" + seed + ")");
    Random rnd = new Random(seed);
    Set<LookupStatus> typed =
        Set.of(
            LookupStatus.LOOKUP_STATUS_EXACT,
            LookupStatus.LOOKUP_STATUS_REDIRECTED,
            LookupStatus.LOOKUP_STATUS_PARTIAL,
            LookupStatus.LOOKUP_STATUS_NOT_FOUND,
            LookupStatus.LOOKUP_STATUS_REVOKED);
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()));
        ResolverServiceImpl svc = new ResolverServiceImpl(r)) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      f.bind(0, demo, "svc@demo/hello", "10.7.7.7");
      Server server = serve(svc);
      ManagedChannel ch =
          NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort()).usePlaintext().build();
      try {
        var futures = ResolverServiceGrpc.newFutureStub(ch);
        int bad = 0;
        int answered = 0;
        // 9,000 names in batches of 500, four batches in flight.
        List<List<String>> batches = new ArrayList<>();
        for (int i = 0; i < 18; i++) {
          List<String> names = new ArrayList<>();
          for (int k = 0; k < 500; k++) {
            names.add(fuzzName(rnd));
          }
          batches.add(names);
        }
        for (int i = 0; i < batches.size(); i += 4) {
          List<com.google.common.util.concurrent.ListenableFuture<ResolveBatchResponse>> inFlight =
              new ArrayList<>();
          for (int k = i; k < Math.min(i + 4, batches.size()); k++) {
            ResolveBatchRequest.Builder req = ResolveBatchRequest.newBuilder();
            batches.get(k).forEach(n -> req.addRequests(ResolveRequest.newBuilder().setName(n)));
            inFlight.add(
                futures.withDeadlineAfter(120, TimeUnit.SECONDS).resolveBatch(req.build()));
          }
          for (int k = 0; k < inFlight.size(); k++) {
            List<String> names = batches.get(i + k);
            ResolveBatchResponse resp = inFlight.get(k).get();
            assertThat(resp.getResultsCount()).isEqualTo(names.size());
            Map<Integer, ResolveBatchError> errors = new java.util.HashMap<>();
            resp.getErrorsList().forEach(e -> errors.put(e.getIndex(), e));
            for (int n = 0; n < names.size(); n++) {
              String name = names.get(n);
              AnfException expected = parseError(name);
              LookupResult res = resp.getResults(n);
              ResolveBatchError err = errors.get(n);
              if (expected != null) {
                if (err == null) {
                  throw new AssertionError("no error for '" + name + "': " + res);
                }
                assertThat(err.getStatus()).as(name).isEqualTo("INVALID_ARGUMENT");
                assertThat(err.getMessage()).as(name).contains("position " + expected.position());
                assertThat(err.getDetail().getPosition()).isEqualTo(expected.position());
                assertThat(res.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_UNSPECIFIED);
                bad++;
              } else {
                assertThat(err).as("'%s' failed: %s", name, err).isNull();
                assertThat(res.getStatus()).as(name).isIn(typed);
                answered++;
              }
            }
          }
        }
        // 1,000 single Resolve calls, all in flight at once.
        List<String> singles = new ArrayList<>();
        List<com.google.common.util.concurrent.ListenableFuture<LookupResult>> calls =
            new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
          String name = fuzzName(rnd);
          singles.add(name);
          calls.add(
              futures
                  .withDeadlineAfter(120, TimeUnit.SECONDS)
                  .resolve(ResolveRequest.newBuilder().setName(name).build()));
        }
        for (int i = 0; i < calls.size(); i++) {
          String name = singles.get(i);
          AnfException expected = parseError(name);
          try {
            LookupResult res = calls.get(i).get();
            assertThat(expected).as("'%s' answered %s", name, res.getStatus()).isNull();
            assertThat(res.getStatus()).as(name).isIn(typed);
            answered++;
          } catch (java.util.concurrent.ExecutionException e) {
            Status s = Status.fromThrowable(e.getCause());
            if (expected == null) {
              throw new AssertionError("'" + name + "' failed: " + s, e);
            }
            assertThat(s.getCode()).as(name).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(s.getDescription()).as(name).contains("position " + expected.position());
            bad++;
          }
        }
        System.out.println(
            "fuzz over gRPC: " + answered + " typed answers, " + bad + " INVALID_ARGUMENT");
        assertThat(answered + bad).isEqualTo(10_000);
        assertThat(bad).isGreaterThan(5_000);
        assertThat(answered).isGreaterThan(500);
        // Still answering.
        LookupResult after =
            ResolverServiceGrpc.newBlockingStub(ch)
                .withDeadlineAfter(30, TimeUnit.SECONDS)
                .resolve(ResolveRequest.newBuilder().setName("svc@demo/hello").build());
        assertThat(after.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
      } finally {
        ch.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
