package org.anf.sim.faults;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.HandlerRegistry;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.jspecify.annotations.Nullable;

/**
 * The network as one simulated resolver sees it. The production resolver ({@code AnfResolver})
 * builds its own channels and offers no way to add an interceptor, so its calls cannot carry the
 * {@value ServiceLinkInterceptor#FROM} header that tells an anchor which client a call comes from.
 * Instead each resolver talks to the anchors through its own small gRPC proxies, one per anchor on
 * 127.0.0.1: a proxy forwards every call byte for byte with the header added (so the anchor's link
 * interceptor applies the faults of the links between this client and that anchor), and rewrites
 * the anchor addresses in the delegations that Lookup answers return to this client's proxies (in
 * this client's order of preference), so that the resolver never bypasses them. Nothing else of an
 * answer is changed.
 */
public final class ResolverLinks implements AutoCloseable {
  private static final String LOOKUP = AnchorServiceGrpc.getLookupMethod().getFullMethodName();
  private static final MethodDescriptor.Marshaller<byte[]> BYTES =
      new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      };

  private final String client;

  /** Anchor id -> its proxy, in this client's order of preference. */
  private final Map<String, Proxy> proxies = new LinkedHashMap<>();

  /** Real anchor address -> the proxy address that stands for it. */
  private final Map<String, String> proxyOf = new LinkedHashMap<>();

  /**
   * @param anchors anchor id -> real gRPC address, in this client's order of preference
   */
  public ResolverLinks(String client, Map<String, String> anchors) {
    this.client = client;
    boolean ok = false;
    try {
      anchors.forEach(
          (id, address) -> {
            Proxy p = new Proxy(address);
            proxies.put(id, p);
            proxyOf.put(address, p.address());
          });
      ok = true;
    } finally {
      if (!ok) {
        close();
      }
    }
  }

  /** The proxy addresses, in this client's order of preference: the resolver's seeds. */
  public List<String> seeds() {
    List<String> out = new ArrayList<>();
    proxies.values().forEach(p -> out.add(p.address()));
    return out;
  }

  /** The anchor a proxy address stands for, or null. */
  public @Nullable String anchorOf(String proxyAddress) {
    for (var e : proxies.entrySet()) {
      if (e.getValue().address().equals(proxyAddress)) {
        return e.getKey();
      }
    }
    return null;
  }

  /** Points a delegation's anchors at this client's proxies, in its order of preference. */
  byte[] rewrite(String method, byte[] reply) {
    if (!method.equals(LOOKUP)) {
      return reply;
    }
    LookupResult r;
    try {
      r = LookupResult.parseFrom(reply);
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return reply;
    }
    if (r.getStatus() != LookupStatus.LOOKUP_STATUS_DELEGATED || !r.hasDelegation()) {
      return reply;
    }
    List<AnchorInfo> given = r.getDelegation().getAnchors().getAnchorsList();
    List<AnchorInfo> ordered = new ArrayList<>();
    for (String real : proxyOf.keySet()) {
      for (AnchorInfo a : given) {
        if (a.getAddress().equals(real)) {
          ordered.add(a.toBuilder().setAddress(proxyOf.get(real)).build());
        }
      }
    }
    for (AnchorInfo a : given) {
      if (!proxyOf.containsKey(a.getAddress())) {
        ordered.add(a);
      }
    }
    LookupResult.Builder b = r.toBuilder();
    b.getDelegationBuilder().getAnchorsBuilder().clearAnchors().addAllAnchors(ordered);
    return b.build().toByteArray();
  }

  @Override
  public void close() {
    proxies.values().forEach(Proxy::close);
  }

  /** One link's proxy: a server on a free loopback port that forwards every call to one anchor. */
  private final class Proxy implements AutoCloseable {
    private final ManagedChannel upstream;
    private final Server server;

    Proxy(String anchorAddress) {
      this.upstream =
          NettyChannelBuilder.forTarget(anchorAddress)
              .usePlaintext()
              .maxInboundMessageSize(16 << 20)
              .build();
      try {
        this.server =
            NettyServerBuilder.forAddress(
                    new InetSocketAddress(InetAddress.getByAddress(new byte[] {127, 0, 0, 1}), 0))
                .maxInboundMessageSize(16 << 20)
                .fallbackHandlerRegistry(
                    new HandlerRegistry() {
                      @Override
                      public ServerMethodDefinition<?, ?> lookupMethod(
                          String method, @Nullable String authority) {
                        MethodDescriptor<byte[], byte[]> d =
                            MethodDescriptor.newBuilder(BYTES, BYTES)
                                .setFullMethodName(method)
                                .setType(MethodDescriptor.MethodType.UNKNOWN)
                                .build();
                        return ServerMethodDefinition.create(d, forward(d));
                      }
                    })
                .build()
                .start();
      } catch (IOException e) {
        upstream.shutdownNow();
        throw new UncheckedIOException("cannot start a link proxy: " + e.getMessage(), e);
      }
    }

    String address() {
      return "127.0.0.1:" + server.getPort();
    }

    private ServerCallHandler<byte[], byte[]> forward(MethodDescriptor<byte[], byte[]> d) {
      return (ServerCall<byte[], byte[]> call, Metadata headers) -> {
        Deadline deadline = Context.current().getDeadline();
        CallOptions opts = CallOptions.DEFAULT;
        if (deadline != null) {
          opts = opts.withDeadline(deadline);
        }
        ClientCall<byte[], byte[]> out = upstream.newCall(d, opts);
        Metadata fwd = new Metadata();
        fwd.merge(headers);
        fwd.put(ServiceLinkInterceptor.FROM_KEY, client);
        out.start(
            new ClientCall.Listener<>() {
              @Override
              public void onHeaders(Metadata h) {
                synchronized (call) {
                  call.sendHeaders(h);
                }
              }

              @Override
              public void onMessage(byte[] message) {
                synchronized (call) {
                  call.sendMessage(rewrite(d.getFullMethodName(), message));
                }
                synchronized (out) {
                  out.request(1);
                }
              }

              @Override
              public void onClose(Status status, Metadata trailers) {
                synchronized (call) {
                  try {
                    call.close(status, trailers);
                  } catch (IllegalStateException e) {
                    // The resolver cancelled the call already.
                  }
                }
              }
            },
            fwd);
        synchronized (out) {
          out.request(1);
        }
        synchronized (call) {
          call.request(1);
        }
        return new ServerCall.Listener<>() {
          @Override
          public void onMessage(byte[] message) {
            synchronized (out) {
              out.sendMessage(message);
            }
            synchronized (call) {
              call.request(1);
            }
          }

          @Override
          public void onHalfClose() {
            synchronized (out) {
              out.halfClose();
            }
          }

          @Override
          public void onCancel() {
            synchronized (out) {
              out.cancel("the resolver cancelled the call", null);
            }
          }
        };
      };
    }

    @Override
    public void close() {
      server.shutdownNow();
      upstream.shutdownNow();
      try {
        server.awaitTermination(2, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
