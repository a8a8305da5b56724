package org.anf.sim.faults;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.anf.anchor.faults.ServiceGate;

/**
 * Link faults on one anchor's own gRPC services (Lookup, Submit, Status...): a simulated resolver
 * names itself in the {@value #FROM} header, and its calls cross the links between it and this
 * anchor. Submits another anchor forwards to its leader carry no name; while any link between this
 * anchor and another is faulted they are refused as UNAVAILABLE, which makes the forwarding anchor
 * fall back to its own Ratis client, whose traffic crosses the (identified) Ratis links instead.
 * Calls with neither header (the checker's) are never faulted.
 */
public final class ServiceLinkInterceptor implements io.grpc.ServerInterceptor {
  public static final String FROM = "anf-sim-from";
  public static final Metadata.Key<String> FROM_KEY =
      Metadata.Key.of(FROM, Metadata.ASCII_STRING_MARSHALLER);
  private static final Metadata.Key<String> FORWARDED =
      Metadata.Key.of("anf-forwarded", Metadata.ASCII_STRING_MARSHALLER);

  private final String self;
  private final Links links;
  private final List<String> anchors;
  private final Set<ServiceGate<?, ?>> open = ConcurrentHashMap.newKeySet();
  private volatile boolean crashed;

  public ServiceLinkInterceptor(String self, Links links, List<String> anchors) {
    this.self = self;
    this.links = links;
    this.anchors = anchors;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    String from = headers.get(FROM_KEY);
    if (from == null) {
      if (headers.containsKey(FORWARDED) && links.anyFaultBetween(self, anchors)) {
        links.dropped();
        call.close(
            Status.UNAVAILABLE.withDescription(
                "sim: a forwarded call from an unnamed anchor is refused while links of "
                    + self
                    + " are faulted"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      return next.startCall(call, headers);
    }
    if (from.equals(self)) {
      return next.startCall(call, headers);
    }
    ServiceGate<Q, R> gate = ServiceGate.of(call, links, from, self);
    open.removeIf(ServiceGate::isClosed);
    open.add(gate);
    ServerCall.Listener<Q> listener = gate.start(headers, next);
    if (crashed) {
      gate.breakCall("sim: anchor " + self + " crashed");
    }
    return listener;
  }

  /**
   * The anchor is about to stop as a crash would: every simulated client's call to it ends now with
   * UNAVAILABLE, as a reset connection would end it (an orderly stop would let streams such as
   * Watch linger until the server's shutdown grace runs out), and so does every call after it.
   */
  public void crash() {
    crashed = true;
    for (ServiceGate<?, ?> g : List.copyOf(open)) {
      g.breakCall("sim: anchor " + self + " crashed");
    }
    open.clear();
  }

  /** A client interceptor that names a simulated resolver on every call. */
  public static io.grpc.ClientInterceptor naming(String client) {
    return new io.grpc.ClientInterceptor() {
      @Override
      public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(
          io.grpc.MethodDescriptor<Q, R> method,
          io.grpc.CallOptions options,
          io.grpc.Channel next) {
        return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(
            next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            headers.put(FROM_KEY, client);
            super.start(listener, headers);
          }
        };
      }
    };
  }
}
