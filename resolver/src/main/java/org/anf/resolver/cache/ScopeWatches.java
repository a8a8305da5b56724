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
 */
public final class ScopeWatches implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScopeWatches.class);
  private static final long MIN_BACKOFF_MS = 100;
  private static final long MAX_BACKOFF_MS = 5000;

  /** What a watch tells the resolver. */
  public interface Listener {
    /** A lineage entry committed in {@code scope} after what the cache knew. */
    void entry(long scope, LineageEntry e);

    /** The history since the cache's position is gone (compacted): drop what depends on it. */
    void reset(long scope);
  }

  private static final class Watch {
    final long scope;
    volatile List<String> addresses;

    /** Highest lineage position seen for the scope. */
    volatile long seq;

    volatile boolean live;
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
  private volatile boolean closed;

  public ScopeWatches(
      Function<String, Channel> channels,
      ScheduledExecutorService timer,
      Listener listener,
      int maxScopes) {
    this.channels = channels;
    this.timer = timer;
    this.listener = listener;
    this.max = maxScopes;
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
    return w.live && w.seq <= seq;
  }

  /** Whether an answer at {@code seq} is older than what the watch already delivered. */
  public boolean behind(long scope, long seq) {
    Watch w = watches.get(scope);
    return w != null && seq < w.seq;
  }

  public boolean live(long scope) {
    Watch w = watches.get(scope);
    return w != null && w.live;
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
    WatchRequest req = WatchRequest.newBuilder().setScopeId(w.scope).setFromSeq(from).build();
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
                LineageEntry e = ev.getEntry();
                synchronized (w) {
                  w.failures = 0;
                }
                // The position moves before the listener invalidates and live is set after, so no
                // answer older than this entry counts as coherent in between.
                if (e.getSeq() > w.seq) {
                  w.seq = e.getSeq();
                  listener.entry(w.scope, e);
                }
                w.live = true;
              }

              @Override
              public void onError(Throwable t) {
                w.live = false;
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
                w.live = false;
                retry(w, address + ": stream ended");
              }
            });
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
