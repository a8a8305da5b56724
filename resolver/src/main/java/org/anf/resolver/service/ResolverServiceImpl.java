package org.anf.resolver.service;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.AliasEvent;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.ErrorDetail;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.ResolveBatchError;
import org.anf.proto.v1.ResolveBatchRequest;
import org.anf.proto.v1.ResolveBatchResponse;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.StreamResolveReply;
import org.anf.proto.v1.StreamResolveRequest;
import org.anf.proto.v1.WatchAliasRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.transport.GrpcErrors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The resolver over gRPC: Resolve, ResolveBatch, ResolveStream and WatchAlias. */
public final class ResolverServiceImpl extends ResolverServiceGrpc.ResolverServiceImplBase
    implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ResolverServiceImpl.class);
  public static final int MAX_BATCH = 1000;

  private final AnfResolver resolver;
  private final ExecutorService watchers =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "anf-watch-alias");
            t.setDaemon(true);
            return t;
          });

  /**
   * Where calls that may wait on anchors run. Cache hits are answered on the calling (transport)
   * thread: a server built with {@code directExecutor()} then serves hits without a thread hop.
   */
  private final ExecutorService blocking =
      Executors.newFixedThreadPool(
          64,
          r -> {
            Thread t = new Thread(r, "anf-resolve");
            t.setDaemon(true);
            return t;
          });

  /** Retries of WatchAlias re-resolves. */
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "anf-watch-alias-timer");
            t.setDaemon(true);
            return t;
          });

  public ResolverServiceImpl(AnfResolver resolver) {
    this.resolver = resolver;
  }

  static ResolveOptions options(ResolveRequest r) {
    if (r.getConsistencyValue() < 0 || r.getConsistency() == Consistency.UNRECOGNIZED) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "unknown consistency " + r.getConsistencyValue());
    }
    return new ResolveOptions(r.getConsistency(), r.getMaxStalenessMs(), false);
  }

  @Override
  public void resolve(ResolveRequest req, StreamObserver<LookupResult> out) {
    LookupResult hit = null;
    try {
      hit = resolver.cachedOrNull(req.getName(), options(req));
    } catch (AnfException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    if (hit != null) {
      out.onNext(hit);
      out.onCompleted();
      return;
    }
    blocking.execute(() -> resolveSlow(req, out));
  }

  private void resolveSlow(ResolveRequest req, StreamObserver<LookupResult> out) {
    try {
      out.onNext(resolver.resolve(req.getName(), options(req)));
      out.onCompleted();
    } catch (AnfException e) {
      out.onError(GrpcErrors.toStatus(e));
    } catch (RuntimeException e) {
      LOG.error("Resolve {} failed", req.getName(), e);
      out.onError(Status.INTERNAL.withDescription("resolver failed: " + e).asRuntimeException());
    }
  }

  @Override
  public void resolveBatch(ResolveBatchRequest req, StreamObserver<ResolveBatchResponse> out) {
    blocking.execute(() -> resolveBatchSlow(req, out));
  }

  private void resolveBatchSlow(ResolveBatchRequest req, StreamObserver<ResolveBatchResponse> out) {
    if (req.getRequestsCount() > MAX_BATCH) {
      out.onError(
          GrpcErrors.toStatus(
              new AnfException(
                  ErrorCode.TOO_LARGE,
                  "a batch holds at most " + MAX_BATCH + " names, got " + req.getRequestsCount())));
      return;
    }
    ResolveBatchResponse.Builder b = ResolveBatchResponse.newBuilder();
    for (int i = 0; i < req.getRequestsCount(); i++) {
      ResolveRequest r = req.getRequests(i);
      try {
        b.addResults(resolver.resolve(r.getName(), options(r)));
      } catch (AnfException e) {
        addError(b, i, e);
      } catch (RuntimeException e) {
        LOG.error("ResolveBatch {} failed", r.getName(), e);
        addError(b, i, new AnfException(ErrorCode.INTERNAL, "resolver failed: " + e, e));
      }
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  /** A name of a batch with no answer: as the proto says, UNSPECIFIED here and why in errors. */
  private static void addError(ResolveBatchResponse.Builder b, int index, AnfException e) {
    ResolveBatchError err = error(index, e);
    b.addResults(
        LookupResult.newBuilder()
            .setStatus(org.anf.proto.v1.LookupStatus.LOOKUP_STATUS_UNSPECIFIED)
            .setDetail(err.getStatus() + ": " + err.getMessage()));
    b.addErrors(err);
  }

  /** What Resolve would have failed with, as a message. */
  static ResolveBatchError error(int index, AnfException e) {
    ErrorDetail.Builder d =
        ErrorDetail.newBuilder().setCode(e.code().name()).setPosition(e.position());
    if (e.field() != null) {
      d.setField(e.field());
    }
    return ResolveBatchError.newBuilder()
        .setIndex(index)
        .setStatus(GrpcErrors.code(e.code()).name())
        .setMessage(String.valueOf(e.getMessage()))
        .setDetail(d)
        .build();
  }

  @Override
  public StreamObserver<StreamResolveRequest> resolveStream(
      StreamObserver<StreamResolveReply> replies) {
    ServerCallStreamObserver<StreamResolveReply> out =
        (ServerCallStreamObserver<StreamResolveReply>) replies;
    ResolveStreamCall call = new ResolveStreamCall(out);
    out.disableAutoRequest();
    out.setOnCancelHandler(call::cancel);
    out.setOnReadyHandler(call::pull);
    call.pull();
    return call;
  }

  /** Walks that one ResolveStream call may have waiting in the pool before it reads no more. */
  static final int STREAM_MAX_WAITING = 64;

  /**
   * One ResolveStream call. Requests are read one at a time, and only while replies can be sent
   * (gRPC's isReady) and fewer than {@link #STREAM_MAX_WAITING} of its walks wait in the pool: a
   * client that sends without reading is held back by HTTP/2 flow control instead of filling the
   * resolver's memory. Hits are answered on the transport thread, walks in the pool; replies from
   * both go out under this object's lock.
   */
  private final class ResolveStreamCall implements StreamObserver<StreamResolveRequest> {
    final ServerCallStreamObserver<StreamResolveReply> out;
    // Guarded by this.
    boolean asked;
    int waiting;
    boolean halfClosed;
    boolean done;

    ResolveStreamCall(ServerCallStreamObserver<StreamResolveReply> out) {
      this.out = out;
    }

    /** Asks gRPC for the next request when one may be taken. */
    void pull() {
      synchronized (this) {
        if (done || halfClosed || asked || waiting >= STREAM_MAX_WAITING || !out.isReady()) {
          return;
        }
        asked = true;
      }
      out.request(1);
    }

    @Override
    public void onNext(StreamResolveRequest m) {
      synchronized (this) {
        asked = false;
      }
      long id = m.getId();
      ResolveRequest req = m.getRequest();
      LookupResult hit;
      try {
        hit = resolver.cachedOrNull(req.getName(), options(req));
      } catch (AnfException e) {
        send(StreamResolveReply.newBuilder().setId(id).setError(error(0, e)).build());
        pull();
        return;
      }
      if (hit != null) {
        send(StreamResolveReply.newBuilder().setId(id).setResult(hit).build());
        pull();
        return;
      }
      synchronized (this) {
        waiting++;
      }
      try {
        blocking.execute(() -> walk(id, req));
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        synchronized (this) {
          waiting--;
        }
        send(
            StreamResolveReply.newBuilder()
                .setId(id)
                .setError(
                    error(0, new AnfException(ErrorCode.UNAVAILABLE, "the resolver is closing")))
                .build());
      }
      pull();
    }

    void walk(long id, ResolveRequest req) {
      StreamResolveReply.Builder r = StreamResolveReply.newBuilder().setId(id);
      try {
        if (!isDone()) {
          r.setResult(resolver.resolve(req.getName(), options(req)));
        }
      } catch (AnfException e) {
        r.setError(error(0, e));
      } catch (RuntimeException e) {
        LOG.error("ResolveStream {} failed", req.getName(), e);
        r.setError(error(0, new AnfException(ErrorCode.INTERNAL, "resolver failed: " + e, e)));
      }
      boolean finished;
      synchronized (this) {
        if (!done && r.getOutcomeCase() != StreamResolveReply.OutcomeCase.OUTCOME_NOT_SET) {
          out.onNext(r.build());
        }
        waiting--;
        finished = finishIfAnswered();
      }
      if (!finished) {
        pull();
      }
    }

    /** Ends the call once the client has half-closed and every request is answered. */
    private synchronized boolean finishIfAnswered() {
      if (halfClosed && waiting == 0 && !done) {
        done = true;
        out.onCompleted();
        return true;
      }
      return false;
    }

    synchronized boolean isDone() {
      return done;
    }

    synchronized void send(StreamResolveReply r) {
      if (!done) {
        out.onNext(r);
      }
    }

    @Override
    public void onError(Throwable t) {
      cancel();
    }

    @Override
    public synchronized void onCompleted() {
      halfClosed = true;
      finishIfAnswered();
    }

    /** The client cancelled or the connection broke: nothing more can be sent. */
    synchronized void cancel() {
      done = true;
    }
  }

  /**
   * Sends what the name resolves to now, then an event for every lineage entry that changes the
   * answer (a rename, a move, a revocation), following it wherever it goes: entries of any scope on
   * the current answer's path, and entries naming the alias, its current name or its UID in any
   * watched scope (a move into another scope commits there too).
   */
  @Override
  public void watchAlias(WatchAliasRequest req, StreamObserver<AliasEvent> out) {
    // gRPC takes the cancel handler only before this method returns: set it here, then go on in
    // the pool (the first resolve may wait on anchors).
    AliasWatch w = new AliasWatch(req.getName(), (ServerCallStreamObserver<AliasEvent>) out);
    w.out.setOnCancelHandler(w::cancel);
    blocking.execute(w::start);
  }

  private static final ResolveOptions LINEAR =
      new ResolveOptions(Consistency.CONSISTENCY_LINEARIZABLE, 0, false);

  /**
   * One WatchAlias call. Entries are checked one at a time (the newest pending one is re-resolved;
   * entries that pile up meanwhile coalesce) and a failed re-resolve is retried on a timer, so no
   * thread sleeps and cancellation never waits for anything.
   */
  private final class AliasWatch {
    static final int MAX_ATTEMPTS = 30;

    final String name;
    final ServerCallStreamObserver<AliasEvent> out;
    final AtomicBoolean done = new AtomicBoolean();
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicReference<@Nullable LineageEntry> pending = new AtomicReference<>();
    final BiConsumer<Long, LineageEntry> listener = this::onEntry;
    volatile @Nullable LookupResult last;
    int attempts; // only touched by the one check running

    AliasWatch(String name, ServerCallStreamObserver<AliasEvent> out) {
      this.name = name;
      this.out = out;
    }

    void start() {
      // Listening before the first resolve: an entry committed meanwhile is checked after it.
      resolver.onLineage(listener);
      if (done.get()) {
        resolver.removeLineageListener(listener);
        return;
      }
      LookupResult first;
      try {
        first = resolver.resolve(name, LINEAR);
      } catch (AnfException e) {
        fail(GrpcErrors.toStatus(e));
        return;
      } catch (RuntimeException e) {
        LOG.error("WatchAlias {} failed", name, e);
        fail(Status.INTERNAL.withDescription("resolver failed: " + e).asRuntimeException());
        return;
      }
      last = first;
      send(AliasEvent.newBuilder().setResult(first).build());
      // Started with running set, so that entries seen before the first answer wait for it.
      check();
    }

    void onEntry(long scope, LineageEntry e) {
      LookupResult l = last;
      if (done.get() || (l != null && !concerns(l, scope, e))) {
        return;
      }
      pending.set(e);
      if (running.compareAndSet(false, true)) {
        submit(0);
      }
    }

    void submit(long delayMs) {
      try {
        if (delayMs == 0) {
          watchers.execute(this::check);
        } else {
          java.util.concurrent.Future<?> unused =
              timer.schedule(() -> submit(0), delayMs, TimeUnit.MILLISECONDS);
        }
      } catch (java.util.concurrent.RejectedExecutionException closing) {
        cancel();
      }
    }

    /** Re-resolves for the newest pending entry until none is left; runs one at a time. */
    void check() {
      while (!done.get()) {
        LineageEntry e = pending.getAndSet(null);
        if (e == null) {
          running.set(false);
          // An entry that came after the getAndSet and before running was cleared is ours.
          if (pending.get() == null || !running.compareAndSet(false, true)) {
            return;
          }
          continue;
        }
        LookupResult now;
        try {
          now = resolver.resolve(name, LINEAR);
          attempts = 0;
        } catch (AnfException ex) {
          // A linearizable read fails while a group elects a leader: try again later, so the
          // entry that changed the answer is not lost to a transient error.
          pending.compareAndSet(null, e);
          if (++attempts >= MAX_ATTEMPTS) {
            fail(
                Status.UNAVAILABLE
                    .withDescription(
                        "cannot re-resolve "
                            + name
                            + " after lineage entry "
                            + e.getSeq()
                            + " ("
                            + ex.getMessage()
                            + "); watch again")
                    .asRuntimeException());
            return;
          }
          submit(Math.min(2000, 50L << Math.min(attempts, 6)));
          return;
        } catch (RuntimeException ex) {
          LOG.error("WatchAlias {} failed", name, ex);
          fail(Status.INTERNAL.withDescription("resolver failed: " + ex).asRuntimeException());
          return;
        }
        LookupResult before = last;
        if (before == null || changed(before, now)) {
          last = now;
          send(AliasEvent.newBuilder().setResult(now).setEntry(e).build());
        }
      }
    }

    void send(AliasEvent ev) {
      synchronized (this) {
        if (!done.get() && !out.isCancelled()) {
          out.onNext(ev);
        }
      }
    }

    void fail(io.grpc.StatusRuntimeException s) {
      if (done.getAndSet(true)) {
        return;
      }
      resolver.removeLineageListener(listener);
      synchronized (this) {
        if (!out.isCancelled()) {
          out.onError(s);
        }
      }
    }

    /** The client went away: never blocks (the check in flight sees done and stops). */
    void cancel() {
      done.set(true);
      resolver.removeLineageListener(listener);
    }
  }

  /** Whether an entry of {@code scope} may change what {@code r} says. */
  static boolean concerns(LookupResult r, long scope, LineageEntry e) {
    if (onPath(r, scope)) {
      return true;
    }
    for (EffectItem it : e.getEffect().getItemsList()) {
      if (it.hasUid() && r.hasUid() && it.getUid().equals(r.getUid())) {
        return true;
      }
      if (it.hasAlias()) {
        String a = it.getAlias().getText();
        if (!a.isEmpty()
            && (a.equals(r.getAlias().getText()) || a.equals(r.getCanonicalAlias().getText()))) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean onPath(LookupResult r, long scope) {
    for (PathStep s : r.getPathList()) {
      if (s.getScopeId() == scope) {
        return true;
      }
    }
    return false;
  }

  private static boolean changed(LookupResult a, @Nullable LookupResult b) {
    if (b == null) {
      return false;
    }
    return a.getStatus() != b.getStatus()
        || !a.getUid().equals(b.getUid())
        || !Objects.equals(a.getCanonicalAlias().getText(), b.getCanonicalAlias().getText())
        || !a.getRecord().equals(b.getRecord());
  }

  @Override
  public void close() {
    blocking.shutdownNow();
    watchers.shutdownNow();
    timer.shutdownNow();
  }
}
