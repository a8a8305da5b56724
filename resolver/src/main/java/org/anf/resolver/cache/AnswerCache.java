package org.anf.resolver.cache;

import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.PathStep;
import org.jspecify.annotations.Nullable;

/**
 * Answers (positive and negative) by the name asked, indexed by every scope their walk passed
 * through so that one lineage entry of a scope drops exactly the answers that depended on it.
 */
public final class AnswerCache {
  /**
   * One cached answer.
   *
   * @param result the answer as walked
   * @param hit the same answer with every path step marked cached, returned on a hit as is
   * @param fetchedMs when the anchors gave it (wall clock, ms)
   * @param expiresMs when its TTL runs out
   * @param scopes the scopes walked; {@code seqs[i]} is the lineage position of {@code scopes[i]}
   * @param countdown the hit as last served with its TTL counted down (see {@link #hitWithTtl})
   */
  @SuppressWarnings("ArrayRecordComponent") // read-only copies, kept flat for the hit path
  public record Entry(
      String key,
      LookupResult result,
      LookupResult hit,
      long fetchedMs,
      long expiresMs,
      long[] scopes,
      long[] seqs,
      Countdown countdown) {

    /** The hit as last served with a counted-down TTL. */
    public record Counted(long leftSeconds, LookupResult result) {}

    /**
     * The hit with its TTL counted down to {@code leftSeconds}; built once per second of the
     * entry's life, not on every hit.
     */
    public LookupResult hitWithTtl(long leftSeconds) {
      Counted c = countdown.latest;
      if (c.leftSeconds() == leftSeconds) {
        return c.result();
      }
      LookupResult r = hit.toBuilder().setTtlSeconds((int) leftSeconds).build();
      countdown.latest = new Counted(leftSeconds, r);
      return r;
    }

    public static Entry of(String key, LookupResult result, long fetchedMs, long expiresMs) {
      LookupResult.Builder hit = result.toBuilder();
      for (int i = 0; i < hit.getPathCount(); i++) {
        hit.setPath(i, hit.getPath(i).toBuilder().setCached(true));
      }
      int n = result.getPathCount();
      long[] scopes = new long[n];
      long[] seqs = new long[n];
      for (int i = 0; i < n; i++) {
        PathStep s = result.getPath(i);
        scopes[i] = s.getScopeId();
        seqs[i] = s.getLineageSeq();
      }
      return new Entry(key, result, hit.build(), fetchedMs, expiresMs, scopes, seqs, unset());
    }

    private static Countdown unset() {
      return new Countdown();
    }

    /**
     * The same answer kept for another TTL from {@code nowMs}, as if fetched again then: for an
     * answer whose scopes' live watches show nothing changed since it was fetched.
     */
    public Entry renewed(long nowMs) {
      return new Entry(
          key,
          result,
          hit,
          nowMs,
          nowMs + 1000L * Integer.toUnsignedLong(result.getTtlSeconds()),
          scopes,
          seqs,
          unset());
    }

    Entry expired() {
      return new Entry(key, result, hit, fetchedMs, Long.MIN_VALUE, scopes, seqs, unset());
    }
  }

  /** Where an entry keeps its latest counted-down hit (racing writers agree on the value). */
  public static final class Countdown {
    private volatile Entry.Counted latest =
        new Entry.Counted(-1, LookupResult.getDefaultInstance());
  }

  private final Map<String, Entry> entries = new ConcurrentHashMap<>();
  private final Map<Long, Set<String>> byScope = new ConcurrentHashMap<>();
  private final int maxEntries;
  private final java.util.concurrent.atomic.AtomicLong generation;

  public AnswerCache(int maxEntries) {
    this(maxEntries, new java.util.concurrent.atomic.AtomicLong());
  }

  /**
   * With {@code generation} as the counter {@link #generation()} reads and moves: an owner that has
   * other reasons to move it too shares one counter, read in one load on a hot path.
   */
  public AnswerCache(int maxEntries, java.util.concurrent.atomic.AtomicLong generation) {
    this.maxEntries = maxEntries;
    this.generation = generation;
  }

  public @Nullable Entry get(String key) {
    return entries.get(key);
  }

  public void put(Entry e) {
    entries.put(e.key(), e);
    for (long s : e.scopes()) {
      byScope.computeIfAbsent(s, k -> ConcurrentHashMap.newKeySet()).add(e.key());
    }
    if (entries.size() > maxEntries) {
      evict();
    }
  }

  /**
   * Puts {@code renewed} in place of {@code old} if {@code old} is still there (an invalidation
   * that came first wins). Does not move the generation: nothing served before is taken back.
   */
  public boolean replace(Entry old, Entry renewed) {
    return entries.replace(old.key(), old, renewed);
  }

  /**
   * Expires every answer whose walk passed through {@code scope}: it is asked again before being
   * served fresh, and kept to be served stale if no anchor answers. Returns how many.
   */
  public int invalidateScope(long scope) {
    Set<String> keys = byScope.get(scope);
    if (keys == null) {
      return 0;
    }
    int n = 0;
    for (Iterator<String> it = keys.iterator(); it.hasNext(); ) {
      String k = it.next();
      Entry e = entries.get(k);
      if (e == null || !contains(e.scopes(), scope)) {
        it.remove();
      } else if (e.expiresMs() != Long.MIN_VALUE && entries.replace(k, e, e.expired())) {
        n++;
      }
    }
    if (n > 0) {
      generation.incrementAndGet();
    }
    return n;
  }

  /** The keys of the answers whose walk passed through {@code scope}. */
  public java.util.List<String> keysThrough(long scope) {
    Set<String> keys = byScope.get(scope);
    return keys == null ? java.util.List.of() : java.util.List.copyOf(keys);
  }

  public void remove(String key) {
    if (entries.remove(key) != null) {
      generation.incrementAndGet();
    }
  }

  /**
   * Moves whenever an answer is taken back before its time (invalidated, removed, evicted), so that
   * whoever kept something built from answers (the DNS gateway's rendered replies) knows to drop
   * it. A refresh of an expired answer does not move it: what was built from the old one expired
   * with it.
   */
  public long generation() {
    return generation.get();
  }

  public int size() {
    return entries.size();
  }

  public Iterable<Entry> all() {
    return entries.values();
  }

  public boolean dependsOn(long scope) {
    Set<String> keys = byScope.get(scope);
    return keys != null && !keys.isEmpty();
  }

  /** Drops the oldest tenth, approximately: a cache past its bound is rare and may be slow. */
  private void evict() {
    generation.incrementAndGet();
    long cutoff =
        entries.values().stream()
            .mapToLong(Entry::fetchedMs)
            .sorted()
            .skip(Math.max(0, entries.size() / 10))
            .findFirst()
            .orElse(Long.MAX_VALUE);
    Iterator<Entry> it = entries.values().iterator();
    while (it.hasNext()) {
      if (it.next().fetchedMs() <= cutoff) {
        it.remove();
      }
    }
  }

  private static boolean contains(long[] a, long v) {
    for (long x : a) {
      if (x == v) {
        return true;
      }
    }
    return false;
  }
}
