package org.anf.resolver;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import java.util.regex.Pattern;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.CachedAnswer;
import org.anf.proto.v1.CachedDelegation;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Freshness;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.ResolverCacheFile;
import org.anf.resolver.cache.AnswerCache;
import org.anf.resolver.cache.CacheFile;
import org.anf.resolver.cache.ScopeWatches;
import org.anf.resolver.transport.AnchorCaller;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resolver: walks a name scope by scope from the deepest delegation it knows, caches answers
 * (positive and negative) with the TTLs the anchors give, keeps them coherent through the scopes'
 * Watch streams, serves them marked stale when no anchor answers, refuses revoked names, hands
 * plain DNS names to a {@link Fallback}, and persists what it knows. Thread-safe.
 */
public final class AnfResolver implements NameResolver, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AnfResolver.class);
  private static final int MAX_HOPS = 64;

  /**
   * How long a delegation is trusted when its parent gave no TTL (the anchors always give the
   * parent policy's cache TTL; this covers old cache files and odd anchors).
   */
  static final int DEFAULT_DELEGATION_TTL_SECONDS = 300;

  private static final Pattern HOSTNAME =
      Pattern.compile(
          "(?i)^(?=.{1,253}\\.?$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\\.)+"
              + "[a-z]([a-z0-9-]{0,61}[a-z0-9])?\\.?$");

  private final ResolverConfig config;
  private final @Nullable Fallback fallback;
  private final ScheduledExecutorService timer;
  private final AnchorCaller caller;
  private final AnswerCache cache;
  private final ScopeWatches watches;

  /** Re-asks answers a revocation may have changed, off the Watch stream's thread. */
  private final java.util.concurrent.ExecutorService refresher;

  /** Delegations by the child scope's alias text, and by its id. */
  private final Map<String, CachedDelegation> delegations = new ConcurrentHashMap<>();

  private final Map<Long, CachedDelegation> delegationsById = new ConcurrentHashMap<>();

  /** Delegations learned from each parent scope, dropped when the parent's lineage moves. */
  private final Map<Long, Set<String>> delegationsFrom = new ConcurrentHashMap<>();

  private final Set<String> revoked = ConcurrentHashMap.newKeySet();

  /**
   * Moves when the cache takes an answer back, a name is revoked, or a watch stops vouching: one
   * counter, so the DNS gateway checks its kept replies against it in a single load per query.
   */
  private final java.util.concurrent.atomic.AtomicLong generation =
      new java.util.concurrent.atomic.AtomicLong();

  private final List<BiConsumer<Long, LineageEntry>> entryListeners = new CopyOnWriteArrayList<>();
  private final ResolverMetrics metrics;
  private final @Nullable CacheFile file;
  private final AtomicBoolean dirty = new AtomicBoolean();
  private volatile long rootScopeId;

  public AnfResolver(ResolverConfig config) {
    this(config, null, new SimpleMeterRegistry());
  }

  public AnfResolver(ResolverConfig config, @Nullable Fallback fallback, MeterRegistry registry) {
    this.config = config;
    this.fallback = fallback;
    this.timer =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "anf-resolver-timer");
              t.setDaemon(true);
              return t;
            });
    this.caller =
        new AnchorCaller(
            timer,
            config.requestTimeout(),
            config.hedgeDelay(),
            config.avoidFor(),
            System::nanoTime);
    this.cache = new AnswerCache(config.maxEntries(), generation);
    this.watches =
        new ScopeWatches(
            caller::channel,
            timer,
            new ScopeWatches.Listener() {
              @Override
              public void entry(long scope, LineageEntry e) {
                onEntry(scope, e);
              }

              @Override
              public void reset(long scope) {
                cache.invalidateScope(scope);
                dropDelegationsFrom(scope);
              }

              @Override
              public void lapsed(long scope) {
                generation.incrementAndGet();
              }
            },
            config.maxWatchedScopes());
    this.refresher =
        Executors.newSingleThreadExecutor(
            r -> {
              Thread t = new Thread(r, "anf-resolver-refresh");
              t.setDaemon(true);
              return t;
            });
    this.metrics = new ResolverMetrics(registry, cache::size, watches::watched);
    CacheFile f = null;
    if (config.cacheDir() != null) {
      try {
        f = new CacheFile(config.cacheDir());
        load(f);
      } catch (IOException e) {
        throw new AnfException(
            ErrorCode.INVALID_ARGUMENT,
            "resolver cache in " + config.cacheDir() + " cannot be used: " + e.getMessage(),
            e);
      }
      long every = config.persistEvery().toMillis();
      java.util.concurrent.Future<?> unused =
          timer.scheduleWithFixedDelay(this::persistQuietly, every, every, TimeUnit.MILLISECONDS);
    }
    this.file = f;
  }

  public ResolverConfig config() {
    return config;
  }

  /** Called with every lineage entry a watched scope commits (WatchAlias follows these). */
  public void onLineage(BiConsumer<Long, LineageEntry> listener) {
    entryListeners.add(listener);
  }

  public void removeLineageListener(BiConsumer<Long, LineageEntry> listener) {
    entryListeners.remove(listener);
  }

  /** How many lineage listeners are registered (each open WatchAlias holds one). */
  public int lineageListeners() {
    return entryListeners.size();
  }

  /** The share of resolves answered from the cache so far, 0..1. */
  public double cacheHitRatio() {
    return metrics.hitRatio();
  }

  public int cachedAnswers() {
    return cache.size();
  }

  /** Whether the lineage of {@code scope} is being watched right now. */
  public boolean watching(long scope) {
    return watches.live(scope);
  }

  @Override
  public LookupResult resolve(String name, ResolveOptions options) {
    String n = name.strip();
    if (n.isEmpty()) {
      throw new AnfException(
          ErrorCode.ALIAS_SYNTAX,
          "'' at position 0: empty name; give an alias or a uid:",
          0,
          null,
          null);
    }
    LookupResult r;
    if (Uid.looksLikeUid(n)) {
      Uid uid = Uid.parse(n);
      r = resolveCached(uid.text(), options, () -> walkUid(uid, options));
    } else {
      Alias alias;
      try {
        alias = Alias.parse(n);
      } catch (AnfException e) {
        if (fallback != null && HOSTNAME.matcher(n).matches()) {
          return legacy(n);
        }
        throw e;
      }
      r =
          resolveCached(
              alias.text(),
              options,
              () -> options.trace() ? walkFromRoot(alias, options) : walk(alias, options));
    }
    metrics.resolved(r.getStatus());
    return r;
  }

  @Override
  public long generation() {
    // A watch lapse counts because a cached answer it vouched for is no longer served unmarked.
    return generation.get();
  }

  private void revoke(String name) {
    if (revoked.add(name)) {
      generation.incrementAndGet();
    }
  }

  /**
   * The answer if the cache can give it right now under {@code options}, else null; never blocks or
   * does I/O, so a server may call it on its transport thread and hand only misses to a pool.
   */
  @Override
  public @Nullable LookupResult cachedOrNull(String name, ResolveOptions options) {
    if (options.consistency() == org.anf.proto.v1.Consistency.CONSISTENCY_LINEARIZABLE
        || options.trace()) {
      return null;
    }
    String key;
    try {
      String n = name.strip();
      key = Uid.looksLikeUid(n) ? Uid.parse(n).text() : Alias.parse(n).text();
    } catch (AnfException e) {
      return null;
    }
    AnswerCache.Entry e = cache.get(key);
    if (e == null) {
      return null;
    }
    LookupResult hit = servable(e, options, config.clock().millis());
    if (hit == null) {
      return null;
    }
    metrics.hit();
    LookupResult r = revokedOr(hit);
    metrics.resolved(r.getStatus());
    return r;
  }

  /**
   * A cold walk: from the root anchors, reading no cached answer or delegation (for benchmarks and
   * diagnostics). Every scope on the way is asked.
   */
  public LookupResult walkUncached(String alias, ResolveOptions options) {
    return walkFromRoot(Alias.parse(alias.strip()), options);
  }

  private interface Walk {
    LookupResult run();
  }

  private LookupResult resolveCached(String key, ResolveOptions options, Walk walk) {
    long now = config.clock().millis();
    AnswerCache.Entry e = cache.get(key);
    boolean linearizable =
        options.consistency() == org.anf.proto.v1.Consistency.CONSISTENCY_LINEARIZABLE;
    if (e != null && !options.trace()) {
      LookupResult hit = servable(e, options, now);
      if (hit != null) {
        metrics.hit();
        return revokedOr(hit);
      }
    }
    metrics.miss();
    long t0 = System.nanoTime();
    LookupResult r;
    try {
      r = walk.run();
    } catch (AnfException ex) {
      if (ex.code().isCallerError() && ex.code() != ErrorCode.UNKNOWN_SCOPE) {
        throw ex;
      }
      if (e != null && now - e.fetchedMs() <= config.maxStale().toMillis() && !linearizable) {
        metrics.stale();
        return revokedOr(stale(e, now, ex));
      }
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "cannot resolve "
              + key
              + ": "
              + ex.getMessage()
              + (linearizable
                  ? " (linearizable: a cached answer is never served)"
                  : " (and nothing cached)"),
          ex);
    } finally {
      metrics.walk(System.nanoTime() - t0);
    }
    remember(key, r, now);
    return revokedOr(r);
  }

  /**
   * A cached answer as the request's consistency allows it, or null to ask the anchors.
   *
   * <ul>
   *   <li>LINEARIZABLE: never; the anchors are asked (through the leader).
   *   <li>BOUNDED (the default): within its TTL and either coherent (every scope on its path is
   *       watched live and has committed nothing since) or younger than the bound (max staleness
   *       ms, when one is given); such an answer carries its age.
   *   <li>ANY: within its TTL, whether or not the watches are live.
   * </ul>
   *
   * An answer a lineage entry invalidated is past its TTL here: it is asked again at every level,
   * and served (marked stale) only when no anchor answers.
   */
  private @Nullable LookupResult servable(AnswerCache.Entry e, ResolveOptions o, long now) {
    if (now >= e.expiresMs()) {
      AnswerCache.Entry r = renewed(e, o, now);
      if (r == null) {
        return null;
      }
      e = r;
    }
    switch (o.consistency()) {
      case CONSISTENCY_LINEARIZABLE -> {
        return null;
      }
      case CONSISTENCY_ANY -> {
        if (coherent(e)) {
          return counted(e, now);
        }
        // Within its TTL, but no live watch vouches for it: said as stale, with its age.
        return stale(e, now);
      }
      default -> {
        if (coherent(e)) {
          return counted(e, now);
        }
        long age = Math.max(0, now - e.fetchedMs()) + e.result().getFreshness().getAgeMs();
        if (o.maxStalenessMs() > 0 && age <= o.maxStalenessMs()) {
          LookupResult.Builder b = counted(e, now).toBuilder();
          b.getFreshnessBuilder().setAgeMs(age);
          return b.build();
        }
        return null;
      }
    }
  }

  /**
   * An answer past its TTL kept for another TTL without a walk, or null to ask the anchors. Only
   * when asking could not tell anything new: every scope on its path has a live watch whose anchor
   * is fresh and which has seen no lineage entry since the answer was fetched, so a walk would
   * bring back this answer. Never for an answer a lineage entry took back (expired early), one an
   * anchor gave as stale, or a linearizable read. This is what keeps a resolver from asking its
   * anchors again for every cached name once a TTL, as long as the watches speak for them.
   */
  private AnswerCache.@Nullable Entry renewed(AnswerCache.Entry e, ResolveOptions o, long now) {
    if (o.consistency() == org.anf.proto.v1.Consistency.CONSISTENCY_LINEARIZABLE
        || e.expiresMs() == Long.MIN_VALUE
        || e.result().getFreshness().getStale()
        || e.result().getTtlSeconds() == 0) {
      return null;
    }
    long[] scopes = e.scopes();
    long[] seqs = e.seqs();
    if (scopes.length == 0) {
      return null;
    }
    for (int i = 0; i < scopes.length; i++) {
      if (!watches.unchangedSince(scopes[i], seqs[i])) {
        return null;
      }
    }
    AnswerCache.Entry r = e.renewed(now);
    if (!cache.replace(e, r)) {
      // Renewed by another thread (serve that) or taken back meanwhile (ask).
      AnswerCache.Entry current = cache.get(e.key());
      return current != null && now < current.expiresMs() ? current : null;
    }
    metrics.renewed();
    dirty.set(true);
    return r;
  }

  /**
   * The cached answer with its TTL counted down to what is left of it (whole seconds, rounded up),
   * as a DNS cache serves a record: whoever keeps it downstream keeps it no longer than this cache.
   */
  private static LookupResult counted(AnswerCache.Entry e, long now) {
    LookupResult hit = e.hit();
    long leftMs = e.expiresMs() - now;
    long left = Math.max(1, (leftMs + 999) / 1000);
    if (left >= Integer.toUnsignedLong(hit.getTtlSeconds())) {
      return hit;
    }
    return e.hitWithTtl(left);
  }

  private boolean coherent(AnswerCache.Entry e) {
    long[] scopes = e.scopes();
    long[] seqs = e.seqs();
    for (int i = 0; i < scopes.length; i++) {
      if (!watches.coherent(scopes[i], seqs[i])) {
        return false;
      }
    }
    return true;
  }

  /** A cached answer marked stale: its age is how long ago the anchors gave it, plus theirs. */
  private static LookupResult stale(AnswerCache.Entry e, long now) {
    LookupResult.Builder b = e.hit().toBuilder();
    long age = Math.max(0, now - e.fetchedMs()) + e.result().getFreshness().getAgeMs();
    b.getFreshnessBuilder().setStale(true).setAgeMs(age);
    for (int i = 0; i < b.getPathCount(); i++) {
      b.setPath(i, b.getPath(i).toBuilder().setStale(true).setAgeMs(age));
    }
    return b.build();
  }

  private static LookupResult stale(AnswerCache.Entry e, long now, AnfException why) {
    LookupResult.Builder b = stale(e, now).toBuilder();
    long age = b.getFreshness().getAgeMs();
    b.setDetail(
        "served from cache, "
            + age
            + " ms old: "
            + why.getMessage()
            + (e.result().getDetail().isEmpty() ? "" : "; " + e.result().getDetail()));
    return b.build();
  }

  private LookupResult revokedOr(LookupResult r) {
    if (revoked.isEmpty() || r.getStatus() == LookupStatus.LOOKUP_STATUS_REVOKED) {
      return r;
    }
    String hit = null;
    if (r.hasAlias() && revoked.contains(r.getAlias().getText())) {
      hit = r.getAlias().getText();
    } else if (r.hasCanonicalAlias() && revoked.contains(r.getCanonicalAlias().getText())) {
      hit = r.getCanonicalAlias().getText();
    } else if (r.hasUid() && revoked.contains(uidText(r.getUid()))) {
      hit = uidText(r.getUid());
    }
    if (hit == null) {
      return r;
    }
    return r.toBuilder()
        .setStatus(LookupStatus.LOOKUP_STATUS_REVOKED)
        .clearRecord()
        .setDetail(hit + " is revoked (lineage of its scope)")
        .build();
  }

  private static String uidText(org.anf.proto.v1.Uid u) {
    return Uid.fromProto(u).text();
  }

  private void remember(String key, LookupResult r, long now) {
    switch (r.getStatus()) {
      case LOOKUP_STATUS_EXACT,
          LOOKUP_STATUS_REDIRECTED,
          LOOKUP_STATUS_PARTIAL,
          LOOKUP_STATUS_NOT_FOUND,
          LOOKUP_STATUS_REVOKED -> {}
      default -> {
        return;
      }
    }
    if (r.getStatus() == LookupStatus.LOOKUP_STATUS_REVOKED) {
      // The name asked and the object: another name (or the uid:) for it is refused too, even
      // from a stale cache after a restart.
      revoke(key);
      if (r.hasUid()) {
        revoke(uidText(r.getUid()));
      }
    }
    for (PathStep s : r.getPathList()) {
      if (watches.behind(s.getScopeId(), s.getLineageSeq())) {
        // An anchor that lags what the watch already delivered: don't keep its answer.
        return;
      }
    }
    long expires = r.getFreshness().getStale() ? now : now + 1000L * r.getTtlSeconds();
    cache.put(AnswerCache.Entry.of(key, r, now, expires));
    for (PathStep s : r.getPathList()) {
      watches.ensure(s.getScopeId(), addressesOf(s.getScopeId()), s.getLineageSeq());
    }
    dirty.set(true);
  }

  /**
   * Where to ask about {@code scope}: the anchors its delegation lists. The seeds (root anchors)
   * only for the root, and for a scope no delegation is known for (a uid: of an unknown scope).
   */
  private List<String> addressesOf(long scope) {
    CachedDelegation d = scope == 0 || scope == rootScopeId ? null : delegationsById.get(scope);
    if (d == null) {
      return config.seeds();
    }
    List<String> out = new ArrayList<>();
    for (AnchorInfo a : d.getDelegation().getAnchors().getAnchorsList()) {
      if (!a.getAddress().isEmpty()) {
        out.add(a.getAddress());
      }
    }
    return out.isEmpty() ? config.seeds() : out;
  }

  /**
   * The walk, from the deepest delegation still within its TTL. A delegation that points to a scope
   * no anchor hosts any more restarts it from the root; when no anchor answers, an expired deeper
   * delegation gets a chance (its scope's anchors may still be up while the upper ones are not).
   */
  private LookupResult walk(Alias alias, ResolveOptions options) {
    try {
      return walk(alias, options, Start.Mode.FRESH);
    } catch (AnfException e) {
      if (e.code() == ErrorCode.UNKNOWN_SCOPE) {
        return walkFromRoot(alias, options);
      }
      if (!e.code().isCallerError()
          && start(alias, Start.Mode.ANY_AGE).labels() > start(alias, Start.Mode.FRESH).labels()) {
        try {
          return walk(alias, options, Start.Mode.ANY_AGE);
        } catch (AnfException again) {
          e.addSuppressed(again);
        }
      }
      throw e;
    }
  }

  private LookupResult walkFromRoot(Alias alias, ResolveOptions options) {
    return walk(alias, options, Start.Mode.ROOT);
  }

  private LookupResult walk(Alias alias, ResolveOptions options, Start.Mode mode) {
    Alias current = alias;
    List<PathStep> path = new ArrayList<>();
    List<org.anf.proto.v1.Alias> chain = new ArrayList<>();
    Set<Long> sealed = new java.util.HashSet<>();
    Start start = start(current, mode);
    long scope = start.scope;
    int scopeLabels = start.labels;
    Alias scopeAlias = start.alias;
    boolean stale = false;
    long age = 0;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
      LookupRequest req =
          LookupRequest.newBuilder()
              .setScopeId(scope)
              .setAlias(current.toProto())
              .setConsistency(options.consistency())
              .setMaxStalenessMs(Math.max(0, options.maxStalenessMs()))
              .setScopeLabels(scopeLabels)
              .build();
      List<String> addresses = addressesOf(scope);
      AnchorCaller.Answer a;
      try {
        a = caller.lookup(addresses, req);
      } catch (AnfException e) {
        if (e.code() == ErrorCode.UNKNOWN_SCOPE && mode != Start.Mode.ROOT && scope != 0) {
          forgetDelegation(scopeAlias);
        }
        throw e;
      }
      a = notBehind(a, addresses, req);
      LookupResult r = a.result();
      if (scope == 0 && r.getScopeId() != 0) {
        rootScopeId = r.getScopeId();
      }
      Freshness f = r.getFreshness();
      stale |= f.getStale();
      age = Math.max(age, f.getAgeMs());
      path.add(
          PathStep.newBuilder()
              .setScopeId(r.getScopeId())
              .setScope(scopeAlias.toProto())
              .setAnchorId(r.getAnchorId().isEmpty() ? a.address() : r.getAnchorId())
              .setLineageSeq(f.getLineageSeq())
              .setStatus(r.getStatus())
              .setStale(f.getStale())
              .setAgeMs(f.getAgeMs())
              .build());
      chain.addAll(r.getRedirectChainList());
      switch (r.getStatus()) {
        case LOOKUP_STATUS_DELEGATED -> {
          Delegation d = r.getDelegation();
          learn(r.getScopeId(), f.getLineageSeq(), r.getTtlSeconds(), d);
          Alias next = Alias.fromProto(r.getResolved()).concat(r.getRemainingList());
          current = current.opaque() != null ? next.withOpaque(current.opaque()) : next;
          scope = d.getChildScopeId();
          scopeAlias = Alias.fromProto(d.getChild());
          scopeLabels = scopeAlias.size();
          if (sealed.contains(scope)) {
            // The parent still delegates to a scope that is merging into it: transient.
            throw new AnfException(
                ErrorCode.UNAVAILABLE,
                "scope " + scopeAlias + " is being merged into its parent; retry shortly");
          }
        }
        case LOOKUP_STATUS_REDIRECTED -> {
          if (!r.hasRedirectTo()) {
            return finish(alias, r, path, chain, stale, age);
          }
          Alias next = Alias.fromProto(r.getRedirectTo());
          if (current.opaque() != null) {
            next = next.withOpaque(current.opaque());
          }
          if (next.text().equals(current.text())) {
            // A sealed scope (merged into its parent) sends the same name back: ask the parent.
            if (scope == 0 || scopeAlias.isRoot()) {
              return finish(alias, r, path, chain, stale, age);
            }
            sealed.add(r.getScopeId());
            forgetDelegation(scopeAlias);
          } else {
            chain.add(current.toProto());
            current = next;
          }
          Start s = start(current, mode);
          scope = s.scope;
          scopeLabels = s.labels;
          scopeAlias = s.alias;
        }
        default -> {
          return finish(alias, r, path, chain, stale, age);
        }
      }
    }
    throw new AnfException(
        ErrorCode.INTERNAL, "walk of " + alias + " took more than " + MAX_HOPS + " hops");
  }

  /**
   * An answer from an anchor that has not applied what this resolver's Watch already delivered for
   * the scope is asked again of the leader, so that a resolver never goes back in time (a rename
   * seen on the Watch is seen by the next resolve).
   */
  private AnchorCaller.Answer notBehind(
      AnchorCaller.Answer a, List<String> addresses, LookupRequest req) {
    LookupResult r = a.result();
    if (req.getConsistency() == org.anf.proto.v1.Consistency.CONSISTENCY_LINEARIZABLE
        || !watches.behind(r.getScopeId(), r.getFreshness().getLineageSeq())) {
      return a;
    }
    try {
      return caller.lookup(
          addresses,
          req.toBuilder()
              .setScopeId(r.getScopeId())
              .setConsistency(org.anf.proto.v1.Consistency.CONSISTENCY_LINEARIZABLE)
              .build());
    } catch (AnfException e) {
      // No leader right now: the lagging answer it is (remember() will not cache it).
      return a;
    }
  }

  private LookupResult finish(
      Alias asked,
      LookupResult r,
      List<PathStep> path,
      List<org.anf.proto.v1.Alias> chain,
      boolean stale,
      long age) {
    LookupResult.Builder b =
        r.toBuilder()
            .setAlias(asked.toProto())
            .clearPath()
            .addAllPath(path)
            .clearRedirectChain()
            .addAllRedirectChain(dedupe(chain));
    b.getFreshnessBuilder().setStale(stale).setAgeMs(age);
    if (!chain.isEmpty() && r.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT) {
      // Reached through a redirect in another scope: redirected, to this binding.
      b.setStatus(LookupStatus.LOOKUP_STATUS_REDIRECTED);
      if (!b.hasCanonicalAlias()) {
        b.setCanonicalAlias(r.getAlias());
      }
    }
    return b.build();
  }

  private static List<org.anf.proto.v1.Alias> dedupe(List<org.anf.proto.v1.Alias> chain) {
    List<org.anf.proto.v1.Alias> out = new ArrayList<>();
    for (org.anf.proto.v1.Alias a : chain) {
      if (out.isEmpty() || !out.get(out.size() - 1).getText().equals(a.getText())) {
        out.add(a);
      }
    }
    return out;
  }

  private record Start(long scope, int labels, Alias alias) {
    enum Mode {
      /** From the deepest delegation within its TTL. */
      FRESH,
      /** From the deepest delegation known, expired or not. */
      ANY_AGE,
      /** From the root, reading no cached delegation. */
      ROOT
    }
  }

  private Start start(Alias alias, Start.Mode mode) {
    if (mode != Start.Mode.ROOT) {
      long now = config.clock().millis();
      for (int k = alias.size(); k >= 1; k--) {
        CachedDelegation d = delegations.get(alias.prefix(k).text());
        if (d != null && (mode == Start.Mode.ANY_AGE || now < d.getExpiresUnixMs())) {
          Alias child = Alias.fromProto(d.getDelegation().getChild());
          return new Start(d.getDelegation().getChildScopeId(), child.size(), child);
        }
      }
    }
    return new Start(0, 0, Alias.ROOT);
  }

  /**
   * Keeps a delegation for the parent's cache TTL, and watches the parent from where it gave it: a
   * structural entry there (a new or removed delegation, a split, a merge, an anchor change) drops
   * every delegation it gave.
   */
  private void learn(long parent, long parentSeq, int ttlSeconds, Delegation d) {
    String key = d.getChild().getText();
    long now = config.clock().millis();
    int ttl = ttlSeconds > 0 ? ttlSeconds : DEFAULT_DELEGATION_TTL_SECONDS;
    CachedDelegation c =
        CachedDelegation.newBuilder()
            .setDelegation(d)
            .setFetchedUnixMs(now)
            .setExpiresUnixMs(now + 1000L * ttl)
            .setParentScopeId(parent)
            .setParentLineageSeq(parentSeq)
            .build();
    CachedDelegation old = delegations.put(key, c);
    delegationsById.put(d.getChildScopeId(), c);
    delegationsFrom.computeIfAbsent(parent, k -> ConcurrentHashMap.newKeySet()).add(key);
    watches.ensure(parent, addressesOf(parent), parentSeq);
    if (old == null || !old.getDelegation().equals(d)) {
      dirty.set(true);
    }
  }

  /** Whether a delegation for the scope at {@code child} is cached (expired or not). */
  public boolean knowsDelegation(String child) {
    return delegations.containsKey(Alias.parse(child).text());
  }

  private void forgetDelegation(Alias scopeAlias) {
    CachedDelegation d = delegations.remove(scopeAlias.text());
    if (d != null) {
      delegationsById.remove(d.getDelegation().getChildScopeId(), d);
      dirty.set(true);
    }
  }

  private void dropDelegationsFrom(long parent) {
    Set<String> keys = delegationsFrom.remove(parent);
    if (keys != null) {
      for (String k : keys) {
        forgetDelegation(Alias.parse(k));
      }
    }
  }

  private LookupResult walkUid(Uid uid, ResolveOptions options) {
    LookupRequest req =
        LookupRequest.newBuilder()
            .setScopeId(uid.scopeId())
            .setUid(uid.toProto())
            .setConsistency(options.consistency())
            .setMaxStalenessMs(Math.max(0, options.maxStalenessMs()))
            .build();
    AnchorCaller.Answer a;
    try {
      a = caller.lookup(addressesOf(uid.scopeId()), req);
    } catch (AnfException e) {
      if (e.code() != ErrorCode.UNKNOWN_SCOPE) {
        throw e;
      }
      // No anchor knows the UID's origin scope: as far as this fabric goes, it does not exist.
      return LookupResult.newBuilder()
          .setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND)
          .setUid(uid.toProto())
          .setDetail("origin scope of " + uid + " is unknown here: " + e.getMessage())
          .build();
    }
    LookupResult r = a.result();
    PathStep step =
        PathStep.newBuilder()
            .setScopeId(r.getScopeId())
            .setScope(r.getScope())
            .setAnchorId(r.getAnchorId().isEmpty() ? a.address() : r.getAnchorId())
            .setLineageSeq(r.getFreshness().getLineageSeq())
            .setStatus(r.getStatus())
            .setStale(r.getFreshness().getStale())
            .setAgeMs(r.getFreshness().getAgeMs())
            .build();
    if (r.getStatus() == LookupStatus.LOOKUP_STATUS_REDIRECTED && r.hasRedirectTo()) {
      LookupResult next = walk(Alias.fromProto(r.getRedirectTo()), options);
      List<PathStep> path = new ArrayList<>();
      path.add(step);
      path.addAll(next.getPathList());
      return next.toBuilder().clearPath().addAllPath(path).build();
    }
    return r.toBuilder().clearPath().addPath(step).build();
  }

  /**
   * A plain DNS name: legacy DNS answers it if the fallback's policy allows the zone. A name
   * outside the allowed zones (no query sent) or an answer that fails required DNSSEC validation is
   * a policy refusal, PRECONDITION_FAILED (gRPC FAILED_PRECONDITION), not a NOT_FOUND: the name may
   * well exist. The fallback logs the one line per fallback; this counts it.
   */
  private LookupResult legacy(String name) {
    Fallback fb = fallback;
    if (fb == null) {
      throw new AnfException(ErrorCode.INVALID_ARGUMENT, "no fallback configured for " + name);
    }
    metrics.fallback();
    String dns = name.endsWith(".") ? name : name + ".";
    FallbackAnswer fa = fb.resolve(dns);
    LookupResult.Builder b =
        LookupResult.newBuilder()
            .setAlias(org.anf.proto.v1.Alias.newBuilder().setText(name))
            .setTtlSeconds(fa.ttlSeconds())
            .setDetail(
                "legacy DNS"
                    + (fa.zone().isEmpty() ? "" : " (zone " + fa.zone() + ")")
                    + (fa.dnssecValidated() ? ", DNSSEC validated" : "")
                    + (fa.detail().isEmpty() ? "" : ": " + fa.detail()));
    switch (fa.outcome()) {
      case ANSWERED -> {
        ObjectRecord.Builder rec = ObjectRecord.newBuilder().setTtlSeconds(fa.ttlSeconds());
        fa.addresses().forEach(ip -> rec.addEndpoints(Endpoint.newBuilder().setHost(ip)));
        for (String t : fa.txt()) {
          rec.addAttributesBuilder().setKey("txt").setValue(t);
        }
        b.setStatus(LookupStatus.LOOKUP_STATUS_DNS_FALLBACK).setRecord(rec);
      }
      case NOT_FOUND -> b.setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
      case REFUSED_BY_POLICY ->
          throw new AnfException(
              ErrorCode.PRECONDITION_FAILED,
              "legacy DNS refused by policy for " + dns + ": " + fa.detail(),
              -1,
              "name",
              null);
      case INSECURE ->
          throw new AnfException(
              ErrorCode.PRECONDITION_FAILED,
              "legacy DNS answer for "
                  + dns
                  + " refused, DNSSEC validation required: "
                  + fa.detail(),
              -1,
              "name",
              null);
      case FAILED ->
          throw new AnfException(
              ErrorCode.UNAVAILABLE, "legacy DNS did not answer for " + dns + ": " + fa.detail());
    }
    LookupResult r = b.build();
    metrics.resolved(r.getStatus());
    return r;
  }

  private void onEntry(long scope, LineageEntry e) {
    List<String> through = cache.keysThrough(scope);
    if (cache.invalidateScope(scope) > 0) {
      dirty.set(true);
    }
    boolean structural = false;
    boolean revocation = false;
    for (EffectItem it : e.getEffect().getItemsList()) {
      if (it.getKind() == EffectKind.EFFECT_KIND_REVOKED) {
        revocation = true;
        if (it.hasAlias() && !it.getAlias().getText().isEmpty()) {
          revoke(it.getAlias().getText());
        }
        if (it.hasUid()) {
          revoke(uidText(it.getUid()));
        }
        dirty.set(true);
      }
      switch (it.getKind()) {
        case EFFECT_KIND_DELEGATED,
                EFFECT_KIND_UNDELEGATED,
                EFFECT_KIND_SPLIT_OUT,
                EFFECT_KIND_MERGED_IN,
                EFFECT_KIND_MOVED_OUT,
                EFFECT_KIND_MOVED_IN,
                EFFECT_KIND_SEALED,
                EFFECT_KIND_ANCHOR_ADDED,
                EFFECT_KIND_ANCHOR_REMOVED ->
            structural = true;
        default -> {}
      }
    }
    if (structural) {
      dropDelegationsFrom(scope);
    }
    if (revocation && !through.isEmpty()) {
      refresh(through);
    }
    for (BiConsumer<Long, LineageEntry> l : entryListeners) {
      try {
        l.accept(scope, e);
      } catch (RuntimeException ex) {
        LOG.warn("lineage listener failed on scope {}: {}", Long.toHexString(scope), ex.toString());
      }
    }
  }

  /**
   * Asks again, now, the answers a revocation may have changed: a revoked device or UID then
   * answers REVOKED from the cache (and after a restart with every anchor down, from the persisted
   * file) even if nobody asked for it between the revocation and the outage. A revocation of a
   * device hash names neither alias nor UID, so the answers themselves are the only way to learn
   * it.
   */
  private void refresh(List<String> keys) {
    ResolveOptions linear =
        new ResolveOptions(org.anf.proto.v1.Consistency.CONSISTENCY_LINEARIZABLE, 0, false);
    try {
      refresher.execute(
          () -> {
            for (String k : keys) {
              try {
                long now = config.clock().millis();
                LookupResult r =
                    Uid.looksLikeUid(k)
                        ? walkUid(Uid.parse(k), linear)
                        : walk(Alias.parse(k), linear);
                remember(k, r, now);
              } catch (AnfException ex) {
                LOG.debug("refresh of {} after a revocation failed: {}", k, ex.getMessage());
              }
            }
          });
    } catch (java.util.concurrent.RejectedExecutionException closing) {
      // Closing: the file keeps the invalidated answers, asked again at the next start.
    }
  }

  private void load(CacheFile f) throws IOException {
    ResolverCacheFile c = f.read();
    if (c == null) {
      return;
    }
    rootScopeId = c.getRootScopeId();
    for (CachedDelegation d : c.getDelegationsList()) {
      delegations.put(d.getDelegation().getChild().getText(), d);
      delegationsById.put(d.getDelegation().getChildScopeId(), d);
    }
    // Loaded delegations are watched like fresh ones: each parent from the position it gave them
    // at, so that an entry committed while this resolver was down drops them.
    Map<Long, Long> parents = new java.util.HashMap<>();
    for (CachedDelegation d : c.getDelegationsList()) {
      long parent = d.getParentScopeId() != 0 ? d.getParentScopeId() : parentOf(d);
      if (parent == 0) {
        continue;
      }
      delegationsFrom
          .computeIfAbsent(parent, k -> ConcurrentHashMap.newKeySet())
          .add(d.getDelegation().getChild().getText());
      parents.merge(parent, d.getParentLineageSeq(), Math::min);
    }
    parents.forEach((parent, seq) -> watches.ensure(parent, addressesOf(parent), seq));
    for (CachedAnswer a : c.getAnswersList()) {
      cache.put(
          AnswerCache.Entry.of(
              a.getKey(), a.getResult(), a.getFetchedUnixMs(), a.getExpiresUnixMs()));
    }
    c.getRevokedList().forEach(this::revoke);
    LOG.info(
        "resolver cache loaded from {}: {} answers, {} delegations, {} revoked",
        f.path(),
        c.getAnswersCount(),
        c.getDelegationsCount(),
        c.getRevokedCount());
  }

  /** A delegation's parent in a file written before parents were kept: the deepest one above. */
  private long parentOf(CachedDelegation d) {
    Alias child = Alias.fromProto(d.getDelegation().getChild());
    for (int k = child.size() - 1; k >= 1; k--) {
      CachedDelegation up = delegations.get(child.prefix(k).text());
      if (up != null) {
        return up.getDelegation().getChildScopeId();
      }
    }
    return rootScopeId;
  }

  /** Writes the cache now if it changed (also done every {@code persistEvery} and on close). */
  public void persist() throws IOException {
    CacheFile f = file;
    if (f == null || !dirty.getAndSet(false)) {
      return;
    }
    ResolverCacheFile.Builder b =
        ResolverCacheFile.newBuilder()
            .setFormatVersion(CacheFile.FORMAT_VERSION)
            .setRootScopeId(rootScopeId)
            .addAllDelegations(delegations.values())
            .addAllRevoked(revoked);
    for (AnswerCache.Entry e : cache.all()) {
      b.addAnswers(
          CachedAnswer.newBuilder()
              .setKey(e.key())
              .setResult(e.result())
              .setFetchedUnixMs(e.fetchedMs())
              .setExpiresUnixMs(e.expiresMs()));
    }
    try {
      f.write(b.build());
    } catch (IOException e) {
      dirty.set(true);
      throw e;
    }
  }

  private void persistQuietly() {
    try {
      persist();
    } catch (IOException | RuntimeException e) {
      LOG.warn("resolver cache not persisted: {}", e.toString());
    }
  }

  @Override
  public void close() {
    watches.close();
    refresher.shutdownNow();
    timer.shutdownNow();
    persistQuietly();
    caller.close();
  }
}
