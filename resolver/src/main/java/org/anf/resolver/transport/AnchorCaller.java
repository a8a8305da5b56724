package org.anf.resolver.transport;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.jspecify.annotations.Nullable;

/**
 * Asks one anchor of a group, hedges to the next after a delay, moves on at once when an anchor
 * fails, and asks a failed anchor last for a while. One channel per anchor address, shared.
 */
public final class AnchorCaller implements AutoCloseable {
  /** An answer and the anchor that gave it. */
  public record Answer(LookupResult result, String address) {}

  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<String, Long> avoidUntil = new ConcurrentHashMap<>();
  private final ScheduledExecutorService timer;
  private final Duration timeout;
  private final Duration hedgeDelay;
  private final Duration avoidFor;
  private final LongSupplier nanos;

  public AnchorCaller(
      ScheduledExecutorService timer,
      Duration timeout,
      Duration hedgeDelay,
      Duration avoidFor,
      LongSupplier nanos) {
    this.timer = timer;
    this.timeout = timeout;
    this.hedgeDelay = hedgeDelay;
    this.avoidFor = avoidFor;
    this.nanos = nanos;
  }

  public ManagedChannel channel(String address) {
    return channels.computeIfAbsent(
        address,
        a ->
            NettyChannelBuilder.forTarget(a)
                .usePlaintext()
                .maxInboundMessageSize(8 << 20)
                .keepAliveTime(30, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(false)
                .build());
  }

  /** Orders addresses: anchors not recently failed first, keeping the given order otherwise. */
  public List<String> order(List<String> addresses) {
    long now = nanos.getAsLong();
    List<String> good = new ArrayList<>();
    List<String> bad = new ArrayList<>();
    for (String a : addresses) {
      Long until = avoidUntil.get(a);
      if (until != null && until - now > 0) {
        bad.add(a);
      } else {
        if (until != null) {
          avoidUntil.remove(a, until);
        }
        good.add(a);
      }
    }
    good.addAll(bad);
    return good;
  }

  public void avoid(String address) {
    avoidUntil.put(address, nanos.getAsLong() + avoidFor.toNanos());
  }

  /**
   * Looks up on the first anchor of {@code addresses} that answers. Caller errors (a bad alias)
   * come back at once; an anchor that does not host the scope, or cannot answer, passes the request
   * on. Throws UNAVAILABLE naming each anchor's failure when none answers.
   */
  public Answer lookup(List<String> addresses, LookupRequest req) {
    List<String> order = order(addresses);
    if (order.isEmpty()) {
      throw new AnfException(ErrorCode.UNAVAILABLE, "no anchor address known for the scope");
    }
    Attempt attempt = new Attempt(order, req);
    attempt.next();
    try {
      return attempt.done.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      attempt.cancelAll();
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "no anchor answered within " + timeout.toMillis() + " ms (asked " + attempt.asked + ")",
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted while resolving", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof AnfException ae) {
        throw new AnfException(
            ae.code(), String.valueOf(ae.getMessage()), ae.position(), ae.field(), ae);
      }
      throw new AnfException(ErrorCode.INTERNAL, "lookup failed: " + c, c);
    }
  }

  /** One lookup across the anchors of a group: at most one request in flight per anchor. */
  private final class Attempt {
    final List<String> order;
    final LookupRequest req;
    final CompletableFuture<Answer> done = new CompletableFuture<>();
    final List<ListenableFuture<LookupResult>> calls = new ArrayList<>();
    final List<String> failures = new ArrayList<>();
    final List<String> asked = new ArrayList<>();
    int nextIndex;
    int outstanding;
    @Nullable ScheduledFuture<?> hedge;
    boolean sawUnknownScope;

    Attempt(List<String> order, LookupRequest req) {
      this.order = order;
      this.req = req;
    }

    /** Sends to the next anchor, if any; completes with the failures when none is left. */
    synchronized void next() {
      if (done.isDone()) {
        return;
      }
      if (nextIndex >= order.size()) {
        if (outstanding == 0) {
          fail();
        }
        return;
      }
      String address = order.get(nextIndex++);
      asked.add(address);
      outstanding++;
      ListenableFuture<LookupResult> f =
          AnchorServiceGrpc.newFutureStub(channel(address))
              .withDeadlineAfter(timeout.toNanos(), TimeUnit.NANOSECONDS)
              .lookup(req);
      calls.add(f);
      Futures.addCallback(
          f,
          new FutureCallback<LookupResult>() {
            @Override
            public void onSuccess(@Nullable LookupResult r) {
              if (r == null) {
                failed(address, new IllegalStateException("empty reply"));
                return;
              }
              cancelHedge();
              done.complete(new Answer(r, address));
              cancelAll();
            }

            @Override
            public void onFailure(Throwable t) {
              failed(address, t);
            }
          },
          MoreExecutors.directExecutor());
      if (nextIndex < order.size()) {
        hedge = timer.schedule(this::next, hedgeDelay.toNanos(), TimeUnit.NANOSECONDS);
      }
    }

    synchronized void failed(String address, Throwable t) {
      outstanding--;
      if (done.isDone()) {
        return;
      }
      AnfException e =
          t instanceof StatusRuntimeException sre
              ? GrpcErrors.fromStatus(sre)
              : new AnfException(ErrorCode.UNAVAILABLE, String.valueOf(t.getMessage()), t);
      if (e.code().isCallerError()
          && e.code() != ErrorCode.NOT_FOUND
          && e.code() != ErrorCode.UNKNOWN_SCOPE) {
        done.completeExceptionally(e);
        cancelAll();
        return;
      }
      if (e.code() == ErrorCode.NOT_FOUND || e.code() == ErrorCode.UNKNOWN_SCOPE) {
        sawUnknownScope = true;
      } else {
        avoid(address);
      }
      failures.add(address + ": " + e.getMessage());
      cancelHedge();
      next();
    }

    private void fail() {
      String why = String.join("; ", failures);
      if (sawUnknownScope && failures.size() == order.size()) {
        done.completeExceptionally(
            new AnfException(ErrorCode.UNKNOWN_SCOPE, "no anchor asked hosts the scope: " + why));
      } else {
        done.completeExceptionally(
            new AnfException(ErrorCode.UNAVAILABLE, "no anchor of the scope answered: " + why));
      }
    }

    private void cancelHedge() {
      ScheduledFuture<?> h = hedge;
      if (h != null) {
        h.cancel(false);
      }
    }

    synchronized void cancelAll() {
      cancelHedge();
      for (ListenableFuture<LookupResult> f : calls) {
        f.cancel(true);
      }
    }
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels.values()) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels.values()) {
      try {
        c.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }
}
