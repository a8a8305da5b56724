package org.anf.resolver;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Supplier;
import org.anf.proto.v1.LookupStatus;

/**
 * The resolver's meters: resolves by status, cache hits and misses and their ratio, stale answers
 * served, fallbacks to legacy DNS, walk latency.
 */
final class ResolverMetrics {
  private final Map<LookupStatus, Counter> resolves = new EnumMap<>(LookupStatus.class);
  private final Counter hits;
  private final Counter misses;
  private final Counter stale;
  private final Counter renewed;
  private final Counter fallbacks;
  private final Timer walk;

  ResolverMetrics(MeterRegistry r, Supplier<Number> cacheSize, Supplier<Number> watched) {
    for (LookupStatus s : LookupStatus.values()) {
      if (s != LookupStatus.UNRECOGNIZED) {
        resolves.put(
            s,
            Counter.builder("anf.resolver.resolves")
                .description("Names resolved, by result")
                .tag("status", s.name().replace("LOOKUP_STATUS_", ""))
                .register(r));
      }
    }
    hits =
        Counter.builder("anf.resolver.cache.hits")
            .description("Resolves answered from the cache without asking an anchor")
            .register(r);
    misses =
        Counter.builder("anf.resolver.cache.misses")
            .description("Resolves that asked the anchors")
            .register(r);
    renewed =
        Counter.builder("anf.resolver.cache.renewed")
            .description(
                "Answers kept for another TTL without asking, because every scope they passed"
                    + " through is watched live and committed nothing since")
            .register(r);
    stale =
        Counter.builder("anf.resolver.stale.served")
            .description("Answers served from the cache, marked stale, because no anchor answered")
            .register(r);
    fallbacks =
        Counter.builder("anf.resolver.fallbacks")
            .description("Names handed to legacy DNS")
            .register(r);
    walk =
        Timer.builder("anf.resolver.walk")
            .description("Time to walk a name through the anchors (cache misses)")
            .publishPercentiles(0.5, 0.99)
            .register(r);
    Gauge.builder("anf.resolver.cache.hit.ratio", this, ResolverMetrics::hitRatio)
        .description("Share of resolves answered from the cache since start, 0..1")
        .strongReference(true)
        .register(r);
    Gauge.builder("anf.resolver.cache.entries", cacheSize).register(r);
    Gauge.builder("anf.resolver.watched.scopes", watched).register(r);
  }

  void resolved(LookupStatus s) {
    Counter c = resolves.get(s);
    if (c != null) {
      c.increment();
    }
  }

  void hit() {
    hits.increment();
  }

  void miss() {
    misses.increment();
  }

  void renewed() {
    renewed.increment();
  }

  void stale() {
    stale.increment();
  }

  void fallback() {
    fallbacks.increment();
  }

  void walk(long nanos) {
    walk.record(Duration.ofNanos(nanos));
  }

  double hitRatio() {
    double h = hits.count();
    double m = misses.count();
    return h + m == 0 ? 0 : h / (h + m);
  }
}
