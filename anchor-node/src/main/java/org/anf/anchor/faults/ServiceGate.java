package org.anf.anchor.faults;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import org.jspecify.annotations.Nullable;

/**
 * One intercepted call on anchor {@code self} from {@code from}: request messages cross the link
 * {@code from->self} (cut: refused; cut silently: a unary request lost, a stream's messages held
 * until the link is back; delayed: delivered later, in order), replies cross {@code self->from}
 * (cut: a unary call whose reply was lost ends UNAVAILABLE; a stream breaks, UNAVAILABLE, since a
 * connection never drops one message of a stream and carries on). {@code ServiceGate} (gRPC) and
 * {@code RaftGate} (Ratis's shaded gRPC) are the same code for the two flavours; change both
 * together.
 */
public final class ServiceGate<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
  private final LinkFaults links;
  private final String from;
  private final String self;
  private boolean closedByGate;
  private boolean replyLost;
  private final Deliveries deliveries;
  private volatile ServerCall.@Nullable Listener<Q> appListener;

  private ServiceGate(ServerCall<Q, R> call, LinkFaults links, String from, String self) {
    super(call);
    this.links = links;
    this.from = from;
    this.self = self;
    this.deliveries = new Deliveries(links, from, self, this::isClosed);
  }

  /** Starts {@code call} from {@code from} through the links; the listener the server gets. */
  public static <Q, R> ServerCall.Listener<Q> start(
      ServerCall<Q, R> call,
      Metadata headers,
      ServerCallHandler<Q, R> next,
      LinkFaults links,
      String from,
      String self) {
    return of(call, links, from, self).start(headers, next);
  }

  /** A gate for {@code call} from {@code from}; {@link #start} it. */
  public static <Q, R> ServiceGate<Q, R> of(
      ServerCall<Q, R> call, LinkFaults links, String from, String self) {
    return new ServiceGate<>(call, links, from, self);
  }

  /** Starts the call through the links; the listener the server gets. */
  public ServerCall.Listener<Q> start(Metadata headers, ServerCallHandler<Q, R> next) {
    ServerCall.Listener<Q> app = next.startCall(this, headers);
    appListener = app;
    return listener(app);
  }

  /**
   * Ends the call now with UNAVAILABLE, as a reset connection would (a crashed anchor's), and tells
   * the server it was cancelled.
   */
  public void breakCall(String why) {
    ServerCall.Listener<Q> app = appListener;
    if (closeByGate(why) && app != null) {
      deliverAlways(app::onCancel);
    }
  }

  /** Whether the call has ended (closed by the server, or by this gate). */
  public synchronized boolean isClosed() {
    return closedByGate;
  }

  @Override
  public synchronized void sendMessage(R message) {
    if (closedByGate) {
      return;
    }
    if (links.link(self, from).cut()) {
      links.dropped();
      if (getMethodDescriptor().getType().serverSendsOneMessage()) {
        replyLost = true;
      } else {
        // A stream over a connection never loses one message and goes on: it breaks.
        closedByGate = true;
        super.close(
            Status.UNAVAILABLE.withDescription(
                "sim: link " + self + "->" + from + " is cut; the stream broke"),
            new Metadata());
      }
      return;
    }
    super.sendMessage(message);
  }

  @Override
  public synchronized void close(Status status, Metadata trailers) {
    if (closedByGate) {
      return;
    }
    closedByGate = true;
    if (replyLost && status.isOk()) {
      super.close(
          Status.UNAVAILABLE.withDescription(
              "sim: the reply on link " + self + "->" + from + " was lost"),
          new Metadata());
      return;
    }
    super.close(status, trailers);
  }

  private synchronized boolean closeByGate(String why) {
    if (closedByGate) {
      return false;
    }
    closedByGate = true;
    super.close(Status.UNAVAILABLE.withDescription(why), new Metadata());
    return true;
  }

  private ServerCall.Listener<Q> listener(ServerCall.Listener<Q> app) {
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
    if (isClosed()) {
      return;
    }
    long delayMs = 0;
    if (crossesLink) {
      LinkFaults.Link f = links.link(from, self);
      if (f.cut()) {
        if (!f.blackhole()) {
          links.dropped();
          if (closeByGate("sim: link " + from + "->" + self + " is cut")) {
            deliverAlways(app::onCancel);
          }
          return;
        }
        if (getMethodDescriptor().getType().clientSendsOneMessage()) {
          // A unary call's request is lost: its caller times out.
          links.dropped();
          return;
        }
        // A stream over a silent link is held, as TCP holds it, and goes on in order once the link
        // is back. Swallowing one message instead stalled the stream for good: gRPC asks for the
        // next message only after the server took this one, and Ratis keeps a stream that times
        // out.
        links.delayed();
        deliveries.whenLinkUp(event);
        return;
      }
      delayMs = f.delayMs();
    }
    if (delayMs > 0) {
      links.delayed();
    }
    deliveries.after(delayMs, event, true);
  }

  private void deliverAlways(Runnable event) {
    deliveries.after(0, event, false);
  }
}
