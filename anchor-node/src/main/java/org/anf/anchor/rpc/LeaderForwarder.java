package org.anf.anchor.rpc;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.ForwardingClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitBatchRequest;
import org.anf.proto.v1.SubmitBatchResponse;
import org.apache.ratis.protocol.RaftPeerId;
import org.jspecify.annotations.Nullable;

/**
 * Sends the Submits that reached a follower on to the anchor that leads the scope's group, a batch
 * per call, so that every concurrent mutation of a scope meets in one batcher and shares log
 * entries. One hop at most: a forwarded call is marked, and the anchor it reaches batches it
 * whatever its role.
 */
final class LeaderForwarder implements AutoCloseable {
  static final Metadata.Key<String> FORWARDED =
      Metadata.Key.of("anf-forwarded", Metadata.ASCII_STRING_MARSHALLER);
  static final Context.Key<Boolean> WAS_FORWARDED = Context.key("anf-forwarded");

  /** A batch of 512 replies, each a lineage entry of a few hundred bytes, with room to spare. */
  private static final int MAX_BATCH_REPLY_BYTES = 16 * 1024 * 1024;

  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();

  /** Marks calls that arrive already forwarded, for {@link #wasForwarded}. */
  static ServerInterceptor serverInterceptor() {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        if (headers.containsKey(FORWARDED)) {
          return Contexts.interceptCall(
              Context.current().withValue(WAS_FORWARDED, true), call, headers, next);
        }
        return next.startCall(call, headers);
      }
    };
  }

  static boolean wasForwarded() {
    return Boolean.TRUE.equals(WAS_FORWARDED.get());
  }

  /** The leader's anchor info, if it is another anchor whose address the scope records. */
  static @Nullable AnchorInfo leaderElsewhere(
      NodeContext ctx, long scopeId, Iterable<AnchorInfo> anchors) {
    var info = ctx.groups.division(scopeId).getInfo();
    RaftPeerId leader = info.getLeaderId();
    if (info.isLeader() || leader == null) {
      return null;
    }
    for (AnchorInfo a : anchors) {
      if (a.getId().equals(leader.toString()) && !a.getAddress().isEmpty()) {
        return a;
      }
    }
    return null;
  }

  /** Sends one scope's forwarded writes to its leader in one call; one reply each, in order. */
  CompletableFuture<List<MutationReply>> forwardBatch(
      String address, long scopeId, List<SignedMutation> mutations) {
    ManagedChannel ch =
        channels.computeIfAbsent(
            address,
            a ->
                NettyChannelBuilder.forTarget(a)
                    .usePlaintext()
                    // Replies only complete futures: no need for a hop to a pool.
                    .directExecutor()
                    .maxInboundMessageSize(MAX_BATCH_REPLY_BYTES)
                    .intercept(markForwarded())
                    .build());
    CompletableFuture<List<MutationReply>> f = new CompletableFuture<>();
    // A batch is sent from whichever thread fills it, often inside an earlier Submit's call (its
    // reply's callback): outside that call's Context, or the batch would be cancelled with it.
    Context.ROOT.run(() -> send(ch, scopeId, mutations, f));
    return f;
  }

  private static void send(
      ManagedChannel ch,
      long scopeId,
      List<SignedMutation> mutations,
      CompletableFuture<List<MutationReply>> f) {
    MutationServiceGrpc.newStub(ch)
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .submitBatch(
            SubmitBatchRequest.newBuilder().setScopeId(scopeId).addAllMutations(mutations).build(),
            new StreamObserver<>() {
              @Override
              public void onNext(SubmitBatchResponse r) {
                if (r.getRepliesCount() != mutations.size()) {
                  f.completeExceptionally(
                      new IllegalStateException(
                          "the leader answered "
                              + r.getRepliesCount()
                              + " of "
                              + mutations.size()
                              + " forwarded mutations"));
                } else {
                  f.complete(r.getRepliesList());
                }
              }

              @Override
              public void onError(Throwable t) {
                f.completeExceptionally(t);
              }

              @Override
              public void onCompleted() {}
            });
  }

  private static ClientInterceptor markForwarded() {
    return new ClientInterceptor() {
      @Override
      public <Q, R> ClientCall<Q, R> interceptCall(
          MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        return new ForwardingClientCall.SimpleForwardingClientCall<>(
            next.newCall(method, options)) {
          @Override
          public void start(Listener<R> listener, Metadata headers) {
            headers.put(FORWARDED, "1");
            super.start(listener, headers);
          }
        };
      }
    };
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
