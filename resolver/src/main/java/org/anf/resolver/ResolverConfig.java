package org.anf.resolver;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.jspecify.annotations.Nullable;

/**
 * How a resolver reaches the fabric and how long it trusts what it learned.
 *
 * @param seeds gRPC addresses ("host:port") of anchors of the root scope, where a walk starts when
 *     no deeper delegation is cached
 * @param cacheDir where the answer cache, delegations and revocations are persisted so that a
 *     resolver started with the network down still answers; null keeps them in memory only
 * @param requestTimeout how long one lookup may take, across every anchor tried. Default 2 s
 * @param hedgeDelay after this long without a reply a second anchor of the group is asked too.
 *     Default 50 ms
 * @param avoidFor an anchor that failed is asked last for this long. Default 5 s
 * @param maxStale the oldest cached answer served (marked stale) when no anchor answers. Default 24
 *     h
 * @param maxEntries answers kept in the cache; the oldest are dropped beyond it. Default 100,000
 * @param maxWatchedScopes scopes whose lineage is watched to invalidate the cache; answers through
 *     other scopes are served fresh only until their TTL. Default 1,024
 * @param persistEvery how often a changed cache is written to {@code cacheDir}. Default 1 s
 * @param clock wall clock for TTLs and ages (injectable for tests)
 */
public record ResolverConfig(
    List<String> seeds,
    @Nullable Path cacheDir,
    Duration requestTimeout,
    Duration hedgeDelay,
    Duration avoidFor,
    Duration maxStale,
    int maxEntries,
    int maxWatchedScopes,
    Duration persistEvery,
    Clock clock) {

  public ResolverConfig {
    seeds = List.copyOf(seeds);
    if (seeds.isEmpty()) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "a resolver needs at least one root anchor address (seeds)");
    }
    for (String s : seeds) {
      int colon = s.lastIndexOf(':');
      if (colon <= 0 || colon == s.length() - 1) {
        throw new AnfException(
            ErrorCode.INVALID_ARGUMENT, "seed '" + s + "' is not host:port", -1, "seeds", null);
      }
    }
    positive("request_timeout", requestTimeout);
    positive("hedge_delay", hedgeDelay);
    positive("persist_every", persistEvery);
    if (maxEntries < 1 || maxWatchedScopes < 0) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "max_entries must be ≥ 1 and max_watched_scopes ≥ 0");
    }
  }

  private static void positive(String name, Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, name + " must be positive, got " + d, -1, name, null);
    }
  }

  /** Defaults, starting from {@code seeds}. */
  public static ResolverConfig of(List<String> seeds) {
    return new ResolverConfig(
        seeds,
        null,
        Duration.ofSeconds(2),
        Duration.ofMillis(50),
        Duration.ofSeconds(5),
        Duration.ofHours(24),
        100_000,
        1024,
        Duration.ofSeconds(1),
        Clock.systemUTC());
  }

  public ResolverConfig withCacheDir(@Nullable Path dir) {
    return new ResolverConfig(
        seeds,
        dir,
        requestTimeout,
        hedgeDelay,
        avoidFor,
        maxStale,
        maxEntries,
        maxWatchedScopes,
        persistEvery,
        clock);
  }

  public ResolverConfig withTimeouts(Duration request, Duration hedge, Duration avoid) {
    return new ResolverConfig(
        seeds,
        cacheDir,
        request,
        hedge,
        avoid,
        maxStale,
        maxEntries,
        maxWatchedScopes,
        persistEvery,
        clock);
  }

  public ResolverConfig withClock(Clock c) {
    return new ResolverConfig(
        seeds,
        cacheDir,
        requestTimeout,
        hedgeDelay,
        avoidFor,
        maxStale,
        maxEntries,
        maxWatchedScopes,
        persistEvery,
        c);
  }

  public ResolverConfig withMaxStale(Duration d) {
    return new ResolverConfig(
        seeds,
        cacheDir,
        requestTimeout,
        hedgeDelay,
        avoidFor,
        d,
        maxEntries,
        maxWatchedScopes,
        persistEvery,
        clock);
  }
}
