package org.anf.anchor.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.crypto.KeyText;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.AdminServiceGrpc;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.StatusRequest;
import org.anf.proto.v1.StatusResponse;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.anf.resolver.transport.GrpcErrors;
import org.jspecify.annotations.Nullable;

/** What client commands share: connections to anchors, the signing key, walking to a scope. */
public final class AnfClient implements AutoCloseable {
  private final ClientOptions opts;
  private final Map<String, ManagedChannel> channels = new LinkedHashMap<>();
  private @Nullable KeyPair key;
  public final MutationFactory factory =
      new MutationFactory(new SecureRandom(), System::currentTimeMillis);

  public AnfClient(ClientOptions opts) {
    this.opts = opts;
  }

  public ClientOptions options() {
    return opts;
  }

  /** Where key files are looked for when --key is not given, in order. */
  public static List<Path> defaultKeyFiles() {
    List<Path> out = new ArrayList<>();
    String env = System.getenv("ANF_KEY");
    if (env != null && !env.isBlank()) {
      out.add(Path.of(env));
    }
    out.add(Path.of("anf-data", "dev-admin.key"));
    out.add(Path.of(System.getProperty("user.home"), ".anf", "dev-admin.key"));
    return out;
  }

  public KeyPair key() {
    if (key != null) {
      return key;
    }
    List<Path> candidates = opts.key != null ? List.of(opts.key) : defaultKeyFiles();
    for (Path p : candidates) {
      if (Files.isRegularFile(p)) {
        try {
          key = KeyText.parse(Files.readString(p, StandardCharsets.UTF_8));
          return key;
        } catch (IOException e) {
          throw new AnfException(
              ErrorCode.INVALID_ARGUMENT, "cannot read key file " + p + ": " + e.getMessage());
        }
      }
      if (opts.key != null) {
        throw new AnfException(ErrorCode.INVALID_ARGUMENT, "key file " + p + " does not exist");
      }
    }
    throw new AnfException(
        ErrorCode.INVALID_ARGUMENT,
        "no signing key: pass --key FILE or set ANF_KEY (start `anf dev` to get a dev admin key)");
  }

  public SignedMutation sign(Mutation m) {
    return Signing.sign(m, key());
  }

  public ManagedChannel channel(String address) {
    return channels.computeIfAbsent(
        address,
        a -> {
          int colon = a.lastIndexOf(':');
          if (colon <= 0) {
            throw new AnfException(
                ErrorCode.INVALID_ARGUMENT, "server '" + a + "' is not HOST:PORT");
          }
          int port;
          try {
            port = Integer.parseInt(a.substring(colon + 1));
          } catch (NumberFormatException e) {
            throw new AnfException(
                ErrorCode.INVALID_ARGUMENT, "server '" + a + "' has no port number");
          }
          return NettyChannelBuilder.forAddress(a.substring(0, colon), port)
              .usePlaintext()
              .maxInboundMessageSize(16 << 20)
              .intercept(new NameUnreachable(a))
              .build();
        });
  }

  public AnchorServiceGrpc.AnchorServiceBlockingStub anchors(String address) {
    return AnchorServiceGrpc.newBlockingStub(channel(address))
        .withDeadlineAfter(opts.timeoutSeconds, TimeUnit.SECONDS);
  }

  public MutationServiceGrpc.MutationServiceBlockingStub mutations(String address) {
    return MutationServiceGrpc.newBlockingStub(channel(address))
        .withDeadlineAfter(opts.timeoutSeconds, TimeUnit.SECONDS);
  }

  public AdminServiceGrpc.AdminServiceBlockingStub admin(String address) {
    return AdminServiceGrpc.newBlockingStub(channel(address))
        .withDeadlineAfter(opts.timeoutSeconds, TimeUnit.SECONDS);
  }

  public AdminServiceGrpc.AdminServiceStub adminAsync(String address) {
    return AdminServiceGrpc.newStub(channel(address))
        .withDeadlineAfter(opts.timeoutSeconds, TimeUnit.SECONDS);
  }

  /** Calls, turning a gRPC failure into the anf error it carries. */
  public static <T> T call(Function<Void, T> rpc) {
    try {
      return rpc.apply(null);
    } catch (StatusRuntimeException e) {
      throw GrpcErrors.fromStatus(e);
    }
  }

  /** A scope and how to reach it. */
  public record Located(long scopeId, Alias scope, List<String> anchors, LookupResult answer) {}

  /** The root scope's status, from the server. */
  public ScopeStatus rootStatus() {
    StatusResponse s = call(v -> admin(opts.server).status(StatusRequest.newBuilder().build()));
    for (ScopeStatus sc : s.getScopesList()) {
      if (sc.getParentScopeId() == 0) {
        return sc;
      }
    }
    throw new AnfException(
        ErrorCode.UNKNOWN_SCOPE, "anchor " + opts.server + " does not host the root scope");
  }

  /**
   * Walks from the root to the deepest scope that governs {@code alias} (following delegations),
   * asking each scope's own anchors.
   */
  public Located locate(Alias alias) {
    long scope = 0;
    int scopeLabels = 0;
    Alias scopeAlias = Alias.ROOT;
    List<String> anchors = List.of(opts.server);
    for (int hop = 0; hop < 64; hop++) {
      LookupResult r = lookupAny(anchors, scope, alias, scopeLabels);
      if (scope == 0) {
        scope = r.getScopeId();
        anchors = anchorsOf(rootAnchorsOrServer());
      }
      if (r.getStatus() != LookupStatus.LOOKUP_STATUS_DELEGATED) {
        return new Located(scope, scopeAlias, anchors, r);
      }
      scope = r.getDelegation().getChildScopeId();
      scopeAlias = Alias.fromProto(r.getDelegation().getChild());
      scopeLabels = scopeAlias.size();
      anchors = anchorsOf(r.getDelegation().getAnchors());
    }
    throw new AnfException(ErrorCode.INTERNAL, "more than 64 delegations walking " + alias);
  }

  private AnchorMap rootAnchorsOrServer() {
    try {
      return rootStatus().getAnchors();
    } catch (AnfException e) {
      return AnchorMap.newBuilder()
          .addAnchors(AnchorInfo.newBuilder().setAddress(opts.server))
          .build();
    }
  }

  /** Every anchor of a scope, by scope id (asking the server for the scope's status). */
  public List<String> anchorsOfScope(long scopeId) {
    StatusResponse s =
        call(
            v -> admin(opts.server).status(StatusRequest.newBuilder().setScopeId(scopeId).build()));
    return anchorsOf(s.getScopes(0).getAnchors());
  }

  public static List<String> anchorsOf(AnchorMap m) {
    List<String> out = new ArrayList<>();
    m.getAnchorsList().forEach(a -> out.add(a.getAddress()));
    return out;
  }

  private LookupResult lookupAny(List<String> anchors, long scope, Alias alias, int scopeLabels) {
    LookupRequest req =
        LookupRequest.newBuilder()
            .setScopeId(scope)
            .setAlias(alias.toProto())
            .setScopeLabels(scopeLabels)
            .build();
    AnfException last = null;
    for (String a : anchors) {
      try {
        return call(v -> anchors(a).lookup(req));
      } catch (AnfException e) {
        if (e.code().isCallerError() && e.code() != ErrorCode.UNKNOWN_SCOPE) {
          throw e;
        }
        last = e;
      }
    }
    throw last != null
        ? last
        : new AnfException(
            ErrorCode.UNAVAILABLE, "no anchor of scope " + ScopeIds.text(scope) + " answered");
  }

  /** Submits to the first anchor of the scope that answers. */
  public SubmitResponse submit(List<String> anchors, Mutation m) {
    SignedMutation signed = sign(m);
    AnfException last = null;
    for (String a : anchors) {
      try {
        return call(
            v -> mutations(a).submit(SubmitRequest.newBuilder().setMutation(signed).build()));
      } catch (AnfException e) {
        if (e.code() != ErrorCode.UNAVAILABLE && e.code() != ErrorCode.TIMEOUT) {
          throw e;
        }
        last = e;
      }
    }
    throw last != null ? last : new AnfException(ErrorCode.UNAVAILABLE, "no anchor to submit to");
  }

  /** Says which anchor could not be reached, where gRPC says only "io exception". */
  private static final class NameUnreachable implements io.grpc.ClientInterceptor {
    // Present when an anchor answered with an anf error: then it was reached.
    private static final io.grpc.Metadata.Key<byte[]> DETAILS =
        io.grpc.Metadata.Key.of("grpc-status-details-bin", io.grpc.Metadata.BINARY_BYTE_MARSHALLER);

    private final String address;

    NameUnreachable(String address) {
      this.address = address;
    }

    @Override
    public <Q, R> io.grpc.ClientCall<Q, R> interceptCall(
        io.grpc.MethodDescriptor<Q, R> method, io.grpc.CallOptions options, io.grpc.Channel next) {
      return new io.grpc.ForwardingClientCall.SimpleForwardingClientCall<>(
          next.newCall(method, options)) {
        @Override
        public void start(Listener<R> listener, io.grpc.Metadata headers) {
          super.start(
              new io.grpc.ForwardingClientCallListener.SimpleForwardingClientCallListener<>(
                  listener) {
                @Override
                public void onClose(io.grpc.Status status, io.grpc.Metadata trailers) {
                  io.grpc.Status s = status;
                  if ((s.getCode() == io.grpc.Status.Code.UNAVAILABLE
                          || s.getCode() == io.grpc.Status.Code.DEADLINE_EXCEEDED)
                      && !trailers.containsKey(DETAILS)) {
                    s =
                        s.withDescription(
                            "cannot reach anchor " + address + ": " + s.getDescription());
                  }
                  super.onClose(s, trailers);
                }
              },
              headers);
        }
      };
    }
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels.values()) {
      c.shutdownNow();
    }
  }
}
