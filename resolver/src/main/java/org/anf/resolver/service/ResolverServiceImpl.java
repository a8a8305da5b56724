package org.anf.resolver.service;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.BiConsumer;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.AliasEvent;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.ResolveBatchRequest;
import org.anf.proto.v1.ResolveBatchResponse;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.WatchAliasRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.transport.GrpcErrors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The resolver over gRPC: Resolve, ResolveBatch and WatchAlias. */
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
    for (ResolveRequest r : req.getRequestsList()) {
      try {
        b.addResults(resolver.resolve(r.getName(), options(r)));
      } catch (AnfException e) {
        b.addResults(
            LookupResult.newBuilder()
                .setStatus(org.anf.proto.v1.LookupStatus.LOOKUP_STATUS_UNSPECIFIED)
                .setDetail(e.code() + ": " + e.getMessage()));
      }
    }
    out.onNext(b.build());
    out.onCompleted();
  }

  /**
   * Sends what the name resolves to now, then an event for every lineage entry of a scope on its
   * path that changes the answer (a rename, a move, a revocation), following it wherever it goes.
   */
  @Override
  public void watchAlias(WatchAliasRequest req, StreamObserver<AliasEvent> out) {
    // gRPC takes the cancel handler only before this method returns: set it here, then go on in
    // the pool (the first resolve may wait on anchors).
    ServerCallStreamObserver<AliasEvent> call = (ServerCallStreamObserver<AliasEvent>) out;
    Object lock = new Object();
    boolean[] done = {false};
    java.util.concurrent.atomic.AtomicReference<BiConsumer<Long, LineageEntry>> registered =
        new java.util.concurrent.atomic.AtomicReference<>();
    call.setOnCancelHandler(
        () -> {
          synchronized (lock) {
            done[0] = true;
          }
          BiConsumer<Long, LineageEntry> l = registered.getAndSet(null);
          if (l != null) {
            resolver.removeLineageListener(l);
          }
        });
    blocking.execute(() -> watchAliasSlow(req, out, lock, done, registered));
  }

  private void watchAliasSlow(
      WatchAliasRequest req,
      StreamObserver<AliasEvent> out,
      Object lock,
      boolean[] done,
      java.util.concurrent.atomic.AtomicReference<BiConsumer<Long, LineageEntry>> registered) {
    String name = req.getName();
    ResolveOptions linear = new ResolveOptions(Consistency.CONSISTENCY_LINEARIZABLE, 0, false);
    LookupResult first;
    try {
      first = resolver.resolve(name, linear);
    } catch (AnfException e) {
      out.onError(GrpcErrors.toStatus(e));
      return;
    }
    LookupResult[] last = {first};
    BiConsumer<Long, LineageEntry> listener =
        (scope, entry) -> {
          if (!onPath(last[0], scope)) {
            return;
          }
          watchers.execute(
              () -> {
                synchronized (lock) {
                  if (done[0]) {
                    return;
                  }
                  LookupResult now = null;
                  // A linearizable read can fail while a group elects a leader: keep trying, so
                  // that the entry that changed the answer is not lost to a transient error.
                  for (int attempt = 0; now == null && !done[0]; attempt++) {
                    try {
                      now = resolver.resolve(name, linear);
                    } catch (AnfException e) {
                      if (attempt >= 30) {
                        LOG.warn(
                            "WatchAlias {}: giving up on entry {}: {}",
                            name,
                            entry.getSeq(),
                            e.getMessage());
                        return;
                      }
                      try {
                        Thread.sleep(Math.min(2000, 50L << Math.min(attempt, 6)));
                      } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        return;
                      }
                    }
                  }
                  if (now == null) {
                    return;
                  }
                  if (changed(last[0], now)) {
                    last[0] = now;
                    out.onNext(AliasEvent.newBuilder().setResult(now).setEntry(entry).build());
                  }
                }
              });
        };
    registered.set(listener);
    resolver.onLineage(listener);
    synchronized (lock) {
      if (done[0]) {
        resolver.removeLineageListener(listener);
        return;
      }
    }
    synchronized (lock) {
      out.onNext(AliasEvent.newBuilder().setResult(first).build());
    }
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
  }
}
