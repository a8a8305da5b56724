package org.anf.sim.faults;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.Status;
import java.util.concurrent.CompletableFuture;

/**
 * One intercepted call on anchor {@code self} from {@code from}: request messages cross the link
 * {@code from->self} (cut: refused or swallowed; delayed: delivered later, in order), replies cross
 * {@code self->from} (cut: lost; a unary call whose reply was lost ends UNAVAILABLE). {@code
 * RaftGate} and {@code ServiceGate} are the same code for the two gRPC flavours (Ratis's shaded
 * one, and the anchor services'); change both together.
 */
final class ServiceGate<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
  private final Links links;
  private final String from;
  private final String self;
  private boolean closedBySim;
  private boolean replyLost;
  private boolean chained;
  private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

  ServiceGate(ServerCall<Q, R> call, Links links, String from, String self) {
    super(call);
    this.links = links;
    this.from = from;
    this.self = self;
  }

  @Override
  public synchronized void sendMessage(R message) {
    if (closedBySim) {
      return;
    }
    if (links.isCut(self, from)) {
      replyLost = true;
      links.counters().dropped();
      return;
    }
    super.sendMessage(message);
  }

  @Override
  public synchronized void close(Status status, Metadata trailers) {
    if (closedBySim) {
      return;
    }
    closedBySim = true;
    if (replyLost && status.isOk()) {
      super.close(
          Status.UNAVAILABLE.withDescription(
              "sim: the reply on link " + self + "->" + from + " was lost"),
          new Metadata());
      return;
    }
    super.close(status, trailers);
  }

  private synchronized boolean closeBySim(String why) {
    if (closedBySim) {
      return false;
    }
    closedBySim = true;
    super.close(Status.UNAVAILABLE.withDescription(why), new Metadata());
    return true;
  }

  private synchronized boolean closed() {
    return closedBySim;
  }

  /** Wraps the application's listener so that requests cross the link. */
  ServerCall.Listener<Q> listener(ServerCall.Listener<Q> app) {
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(app) {
      @Override
      public void onMessage(Q message) {
        deliver(() -> app.onMessage(message), app, true);
      }

      @Override
      public void onHalfClose() {
        deliver(app::onHalfClose, app, true);
      }

      @Override
      public void onReady() {
        deliver(app::onReady, app, false);
      }

      @Override
      public void onCancel() {
        deliverAlways(app::onCancel);
      }

      @Override
      public void onComplete() {
        deliverAlways(app::onComplete);
      }
    };
  }

  private void deliver(Runnable event, ServerCall.Listener<Q> app, boolean crossesLink) {
    if (closed()) {
      return;
    }
    long delayMs = 0;
    if (crossesLink) {
      Links.Fault f = links.get(from, self);
      if (f.cut()) {
        links.counters().dropped();
        if (f.mode() == Links.DropMode.FAIL_FAST
            && closeBySim("sim: link " + from + "->" + self + " is cut")) {
          deliverAlways(app::onCancel);
        }
        return;
      }
      delayMs = f.delayMs();
    }
    if (delayMs > 0) {
      links.counters().delayed();
    }
    schedule(event, delayMs, true);
  }

  private void deliverAlways(Runnable event) {
    schedule(event, 0, false);
  }

  private void schedule(Runnable event, long delayMs, boolean unlessClosed) {
    synchronized (this) {
      if (!chained && delayMs == 0) {
        // Fall through to run inline, outside the lock.
      } else {
        chained = true;
        long due = System.nanoTime() + delayMs * 1_000_000L;
        tail =
            tail.thenCompose(v -> links.at(due))
                .thenRun(
                    () -> {
                      if (!unlessClosed || !closed()) {
                        Links.runQuietly(event);
                      }
                    });
        return;
      }
    }
    event.run();
  }
}
