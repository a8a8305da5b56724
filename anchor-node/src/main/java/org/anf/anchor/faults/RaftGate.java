package org.anf.anchor.faults;

import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCall;
import org.apache.ratis.thirdparty.io.grpc.ForwardingServerCallListener;
import org.apache.ratis.thirdparty.io.grpc.Metadata;
import org.apache.ratis.thirdparty.io.grpc.ServerCall;
import org.apache.ratis.thirdparty.io.grpc.ServerCallHandler;
import org.apache.ratis.thirdparty.io.grpc.Status;

/**
 * One intercepted call on anchor {@code self} from {@code from}: request messages cross the link
 * {@code from->self} (cut: refused; cut silently: a unary request lost, a stream's messages held
 * until the link is back; delayed: delivered later, in order), replies cross {@code self->from}
 * (cut: a unary call whose reply was lost ends UNAVAILABLE; a stream breaks, UNAVAILABLE, since a
 * connection never drops one message of a stream and carries on). {@code ServiceGate} (gRPC) and
 * {@code RaftGate} (Ratis's shaded gRPC) are the same code for the two flavours; change both
 * together.
 */
final class RaftGate<Q, R> extends ForwardingServerCall.SimpleForwardingServerCall<Q, R> {
  private final LinkFaults links;
  private final String from;
  private final String self;
  private boolean closedByGate;
  private boolean replyLost;
  private final Deliveries deliveries;

  private RaftGate(ServerCall<Q, R> call, LinkFaults links, String from, String self) {
    super(call);
    this.links = links;
    this.from = from;
    this.self = self;
    this.deliveries = new Deliveries(links, from, self, this::closed);
  }

  /** Starts {@code call} from {@code from} through the links; the listener the server gets. */
  static <Q, R> ServerCall.Listener<Q> start(
      ServerCall<Q, R> call,
      Metadata headers,
      ServerCallHandler<Q, R> next,
      LinkFaults links,
      String from,
      String self) {
    RaftGate<Q, R> gate = new RaftGate<>(call, links, from, self);
    return gate.listener(next.startCall(gate, headers));
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

  private synchronized boolean closed() {
    return closedByGate;
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
    if (closed()) {
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
