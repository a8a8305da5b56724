package org.anf.resolver.service;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.ResolveBatchError;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.StreamResolveReply;
import org.anf.proto.v1.StreamResolveRequest;
import org.jspecify.annotations.Nullable;

/**
 * A client of a resolver that sends every resolve over one ResolveStream call instead of a call
 * each. Safe for many threads. The call is opened on first use and again after it fails; a failure
 * of the call fails the resolves that were waiting on it with its status. Futures complete on the
 * channel's executor, so a channel built with {@code directExecutor()} completes them on its
 * transport thread: keep the work done there short.
 */
public final class ResolveStreamClient implements AutoCloseable {
  private final ResolverServiceGrpc.ResolverServiceStub stub;
  private final AtomicLong ids = new AtomicLong();
  private @Nullable Call call; // guarded by this
  private boolean closed; // guarded by this

  public ResolveStreamClient(Channel channel) {
    this.stub = ResolverServiceGrpc.newStub(channel);
  }

  /** Resolves {@code name} with the resolver's default consistency. */
  public CompletableFuture<LookupResult> resolve(String name) {
    return resolve(ResolveRequest.newBuilder().setName(name).build());
  }

  /**
   * Sends one resolve. The future fails with a {@link StatusRuntimeException} carrying the status
   * Resolve would have failed with (for example INVALID_ARGUMENT naming the position).
   */
  public CompletableFuture<LookupResult> resolve(ResolveRequest request) {
    CompletableFuture<LookupResult> f = new CompletableFuture<>();
    long id = ids.incrementAndGet();
    Call c;
    synchronized (this) {
      if (closed) {
        f.completeExceptionally(
            Status.CANCELLED.withDescription("the client is closed").asRuntimeException());
        return f;
      }
      c = call;
      if (c == null) {
        c = new Call();
        call = c;
        c.requests = stub.resolveStream(c);
      }
    }
    c.send(id, request, f);
    return f;
  }

  /** Resolves waiting for an answer now. */
  public int waiting() {
    Call c;
    synchronized (this) {
      c = call;
    }
    return c == null ? 0 : c.pending.size();
  }

  /** Half-closes the call: resolves already sent are still answered. */
  @Override
  public void close() {
    Call c;
    synchronized (this) {
      closed = true;
      c = call;
    }
    if (c != null) {
      c.halfClose();
    }
  }

  private final class Call implements StreamObserver<StreamResolveReply> {
    final Map<Long, CompletableFuture<LookupResult>> pending = new ConcurrentHashMap<>();
    @Nullable StreamObserver<StreamResolveRequest> requests; // set once, under the client's lock
    private @Nullable Status failed; // guarded by this

    void send(long id, ResolveRequest r, CompletableFuture<LookupResult> f) {
      pending.put(id, f);
      synchronized (this) {
        StreamObserver<StreamResolveRequest> q = requests;
        Status ended = failed;
        if (ended != null || q == null) {
          pending.remove(id);
          // The call's own failure, so the caller learns why (the next resolve opens a new call).
          f.completeExceptionally(
              (ended != null
                      ? ended
                      : Status.UNAVAILABLE.withDescription("the resolve stream is not open"))
                  .asRuntimeException());
          return;
        }
        q.onNext(StreamResolveRequest.newBuilder().setId(id).setRequest(r).build());
      }
    }

    synchronized void halfClose() {
      StreamObserver<StreamResolveRequest> q = requests;
      if (failed == null && q != null) {
        q.onCompleted();
      }
    }

    @Override
    public void onNext(StreamResolveReply reply) {
      CompletableFuture<LookupResult> f = pending.remove(reply.getId());
      if (f == null) {
        return;
      }
      if (reply.hasResult()) {
        f.complete(reply.getResult());
      } else {
        f.completeExceptionally(toException(reply.getError()));
      }
    }

    @Override
    public void onError(Throwable t) {
      end(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      end(Status.UNAVAILABLE.withDescription("the resolver ended the resolve stream"));
    }

    private void end(Status s) {
      Status why = s.isOk() ? Status.UNAVAILABLE : s;
      synchronized (this) {
        failed = why;
      }
      synchronized (ResolveStreamClient.this) {
        if (call == this) {
          call = null;
        }
      }
      StatusRuntimeException e = why.asRuntimeException();
      for (var it = pending.values().iterator(); it.hasNext(); ) {
        CompletableFuture<LookupResult> f = it.next();
        it.remove();
        f.completeExceptionally(e);
      }
    }
  }

  static StatusRuntimeException toException(ResolveBatchError e) {
    Status.Code code;
    try {
      code = Status.Code.valueOf(e.getStatus());
    } catch (IllegalArgumentException unknown) {
      code = Status.Code.UNKNOWN;
    }
    return code.toStatus().withDescription(e.getMessage()).asRuntimeException();
  }
}
