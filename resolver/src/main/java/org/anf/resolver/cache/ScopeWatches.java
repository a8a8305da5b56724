package org.anf.resolver.cache;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.LongSupplier;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.WatchEvent;
import org.anf.proto.v1.WatchRequest;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Watch stream per scope the cache depends on, so that a lineage entry (a rename, a revocation)
 * reaches the cache when it commits rather than at TTL expiry. A scope's cached answers are
 * coherent only while its stream is live: a stream that broke means the cache may have missed
 * entries, so the resolver asks again (and serves stale only if no anchor answers).
 *
 * <p>An open stream is not enough: an anchor cut off from its group keeps the stream open and
 * simply hears of nothing. So the anchor sends a heartbeat with its own freshness every {@value
 * #HEARTBEAT_MS} ms; the stream counts as live only while the latest event is recent and says the
 * anchor is fresh. A stream whose anchor says it is stale, or that falls silent, is dropped for the
 * scope's next anchor.
 */
public final class ScopeWatches implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScopeWatches.class);
  private static final long MIN_BACKOFF_MS = 100;
  private static final long MAX_BACKOFF_MS = 5000;

  /** How often an anchor is asked to send a heartbeat when nothing commits. */
  public static final int HEARTBEAT_MS = 1000;

  /** Silence after which a stream no longer vouches for the cache. */
  static final long SILENT_AFTER_MS = 3L * HEARTBEAT_MS;

  /** What a watch tells the resolver. */
  public interface Listener {
    /** A lineage entry committed in {@code scope} after what the cache knew. */
    void entry(long scope, LineageEntry e);

    /** The history since the cache's position is gone (compacted): drop what depends on it. */
    void reset(long scope);

    /**
     * The stream of {@code scope} stopped vouching for the cache (broken, ended, silent, or its
     * anchor stale): answers kept elsewhere on the strength of coherence (the DNS gateway's
     * rendered replies) must be dropped, as the resolver itself no longer serves them unmarked. A
     * stream that falls silent is noticed within a heartbeat of {@link #SILENT_AFTER_MS}.
     */
    default void lapsed(long scope) {}
  }

  private static final class Watch {
    final long scope;
    volatile List<String> addresses;

    /** Highest lineage position seen for the scope. */
    volatile long seq;

    volatile boolean live;

    /** Whether the latest event said its anchor was fresh, and when it came (nanoTime). */
    volatile boolean fresh;

    volatile long heardNanos;

    /** The anchor's lineage head as of its latest event: entries up to it were applied there. */
    volatile long head;

    int failures;
    int next;
    @Nullable ClientCallStreamObserver<WatchRequest> call;
    boolean closed;

    Watch(long scope, List<String> addresses, long seq) {
      this.scope = scope;
      this.addresses = addresses;
      this.seq = seq;
    }
  }

  private final Map<Long, Watch> watches = new ConcurrentHashMap<>();
  private final Function<String, Channel> channels;
  private final ScheduledExecutorService timer;
  private final Listener listener;
  private final int max;
  private final LongSupplier nanos;
  private volatile boolean closed;

  public ScopeWatches(
      Function<String, Channel> channels,
      ScheduledExecutorService timer,
      Listener listener,
      int maxScopes) {
    this(channels, timer, listener, maxScopes, System::nanoTime);
  }

  /** With {@code nanos} as the monotonic clock that heartbeats are timed by. */
  public ScopeWatches(
      Function<String, Channel> channels,
      ScheduledExecutorService timer,
      Listener listener,
      int maxScopes,
      LongSupplier nanos) {
    this.channels = channels;
    this.timer = timer;
    this.listener = listener;
    this.max = maxScopes;
    this.nanos = nanos;
    java.util.concurrent.Future<?> unused =
        timer.scheduleWithFixedDelay(
            this::dropSilent, HEARTBEAT_MS, HEARTBEAT_MS, TimeUnit.MILLISECONDS);
  }

  /** Starts watching {@code scope} from {@code seq} if it is not watched yet. */
  public void ensure(long scope, List<String> addresses, long seq) {
    if (closed || addresses.isEmpty()) {
      return;
    }
    Watch w = watches.get(scope);
    if (w != null) {
      w.addresses = addresses;
      return;
    }
    if (watches.size() >= max) {
      return;
    }
    Watch fresh = new Watch(scope, addresses, seq);
    if (watches.putIfAbsent(scope, fresh) == null) {
      start(fresh);
    }
  }

  /**
   * Whether answers about {@code scope} at lineage position {@code seq} can be trusted without
   * asking: the stream is live and has seen nothing newer. Scopes beyond the watch limit rely on
   * TTL alone.
   */
  public boolean coherent(long scope, long seq) {
    Watch w = watches.get(scope);
    if (w == null) {
      return watches.size() >= max;
    }
    return vouches(w) && Math.max(w.seq, w.head) <= seq;
  }

  /**
   * Whether a live watch of {@code scope} vouches that nothing was committed there after lineage
   * position {@code seq}. Unlike {@link #coherent}, a scope with no watch (beyond the limit) is not
   * vouched for.
   */
  public boolean unchangedSince(long scope, long seq) {
    Watch w = watches.get(scope);
    return w != null && vouches(w) && Math.max(w.seq, w.head) <= seq;
  }

  /** Live, its anchor fresh as of its latest event, and that event recent. */
  private boolean vouches(Watch w) {
    return w.live
        && w.fresh
        && nanos.getAsLong() - w.heardNanos <= TimeUnit.MILLISECONDS.toNanos(SILENT_AFTER_MS);
  }

  /** Whether an answer at {@code seq} is older than what the watch already delivered. */
  public boolean behind(long scope, long seq) {
    Watch w = watches.get(scope);
    return w != null && seq < w.seq;
  }

  public boolean live(long scope) {
    Watch w = watches.get(scope);
    return w != null && vouches(w);
  }

  public int watched() {
    return watches.size();
  }

  private void start(Watch w) {
    String address;
    synchronized (w) {
      if (w.closed || closed) {
        return;
      }
      List<String> a = w.addresses;
      address = a.get(Math.floorMod(w.next++, a.size()));
    }
    // Live only once an event shows the stream is connected: from a known position the first event
    // re-delivers that entry at once; from 0 (position unknown) the first new entry does. Until
    // then, answers through the scope are not coherent and are asked again.
    long from = w.seq;
    WatchRequest req =
        WatchRequest.newBuilder()
            .setScopeId(w.scope)
            .setFromSeq(from)
            .setHeartbeatMs(HEARTBEAT_MS)
            .build();
    AnchorServiceGrpc.newStub(channels.apply(address))
        .watch(
            req,
            new ClientResponseObserver<WatchRequest, WatchEvent>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<WatchRequest> rs) {
                synchronized (w) {
                  w.call = rs;
                }
              }

              @Override
              public void onNext(WatchEvent ev) {
                if (ev.hasEntry()) {
                  LineageEntry e = ev.getEntry();
                  // The position moves before the listener invalidates and live is set after, so
                  // no answer older than this entry counts as coherent in between.
                  if (e.getSeq() > w.seq) {
                    w.seq = e.getSeq();
                    listener.entry(w.scope, e);
                  }
                }
                // An anchor too old to send freshness vouches by its stream alone, as before.
                boolean fresh = !ev.hasFreshness() || !ev.getFreshness().getStale();
                if (ev.hasFreshness()) {
                  w.head = Math.max(w.head, ev.getFreshness().getLineageSeq());
                }
                w.heardNanos = nanos.getAsLong();
                w.fresh = fresh;
                w.live = true;
                if (fresh) {
                  synchronized (w) {
                    w.failures = 0;
                  }
                } else {
                  // Backing off as after a failure: every anchor of the scope may be cut off.
                  drop(w, address + " says it is stale for the scope");
                }
              }

              @Override
              public void onError(Throwable t) {
                lapse(w);
                Status s = Status.fromThrowable(t);
                if (s.getCode() == Status.Code.OUT_OF_RANGE) {
                  LOG.info(
                      "watch of scope {}: history compacted, resetting", Long.toHexString(w.scope));
                  listener.reset(w.scope);
                  w.seq = 0;
                }
                retry(w, address + ": " + s.getCode() + " " + s.getDescription());
              }

              @Override
              public void onCompleted() {
                lapse(w);
                retry(w, address + ": stream ended");
              }
            });
  }

  /** Ends a stream that no longer vouches for the cache; it is started again on the next anchor. */
  private void drop(Watch w, String why) {
    ClientCallStreamObserver<WatchRequest> c;
    synchronized (w) {
      c = w.call;
    }
    lapse(w);
    LOG.debug("watch of scope {}: {}, trying another anchor", Long.toHexString(w.scope), why);
    if (c != null) {
      c.cancel(why, null);
    }
  }

  private void lapse(Watch w) {
    if (w.live) {
      w.live = false;
      listener.lapsed(w.scope);
    }
  }

  private void dropSilent() {
    long now = nanos.getAsLong();
    for (Watch w : watches.values()) {
      if (w.live
          && now - w.heardNanos > TimeUnit.MILLISECONDS.toNanos(SILENT_AFTER_MS)
          && !w.closed) {
        drop(w, "no event for over " + SILENT_AFTER_MS + " ms");
      }
    }
  }

  private void retry(Watch w, String why) {
    long delay;
    synchronized (w) {
      if (w.closed || closed) {
        return;
      }
      w.failures++;
      delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS << Math.min(10, w.failures - 1));
    }
    LOG.debug(
        "watch of scope {} broke ({}); again in {} ms", Long.toHexString(w.scope), why, delay);
    java.util.concurrent.Future<?> unused =
        timer.schedule(() -> start(w), delay, TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    closed = true;
    for (Watch w : watches.values()) {
      ClientCallStreamObserver<WatchRequest> c;
      synchronized (w) {
        w.closed = true;
        c = w.call;
      }
      if (c != null) {
        c.cancel("resolver closing", null);
      }
    }
    watches.clear();
  }
}
