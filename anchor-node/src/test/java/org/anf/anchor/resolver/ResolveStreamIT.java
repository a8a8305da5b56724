package org.anf.anchor.resolver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.StreamResolveReply;
import org.anf.proto.v1.StreamResolveRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.service.ResolveStreamClient;
import org.anf.resolver.service.ResolverServiceImpl;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * ResolveStream against a real fabric: many resolves over one call, walks and cache hits answered
 * by id, bad names answered with an error that does not end the call, and a client that sends
 * without reading held back by flow control rather than buffered without bound.
 */
class ResolveStreamIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @TempDir Path dir;

  private static Server serve(ResolverServiceImpl svc) throws IOException {
    return NettyServerBuilder.forAddress(
            new InetSocketAddress(java.net.InetAddress.getLoopbackAddress(), 0))
        .addService(svc)
        .directExecutor()
        .build()
        .start();
  }

  private static <T> T get(CompletableFuture<T> f) throws Exception {
    return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
  }

  private static Status.Code failureCode(CompletableFuture<?> f) {
    try {
      f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return Status.fromThrowable(e.getCause()).getCode();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("no failure");
  }

  /** Whether the call is ready now or becomes ready within {@code d}. */
  private static boolean readyWithin(ClientCallStreamObserver<?> call, Duration d)
      throws InterruptedException {
    long deadline = System.nanoTime() + d.toNanos();
    while (!call.isReady()) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(5);
    }
    return true;
  }

  @Test
  void manyResolvesOverOneCallAreAnsweredByIdAndBadNamesDoNotEndTheCall() throws Exception {
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()));
        ResolverServiceImpl svc = new ResolverServiceImpl(r)) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      List<Uid> uids = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        uids.add(f.bind(i % 3, demo, "svc@demo/s" + i, "10.3.0." + (i + 1)));
      }
      Server server = serve(svc);
      ManagedChannel ch =
          NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort())
              .usePlaintext()
              .directExecutor()
              .build();
      try (ResolveStreamClient client = new ResolveStreamClient(ch)) {
        // A cold name is walked in the pool; asked again it is a cache hit. (With ANY: a BOUNDED
        // hit also needs the scope's Watch to be live yet, which is ResolverIT's business.)
        LookupResult cold = get(client.resolve("svc@demo/s0"));
        assertThat(cold.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        assertThat(cold.getPathList()).noneMatch(s -> s.getCached());
        assertThat(Uid.fromProto(cold.getUid())).isEqualTo(uids.get(0));
        LookupResult hit =
            get(
                client.resolve(
                    ResolveRequest.newBuilder()
                        .setName("svc@demo/s0")
                        .setConsistency(Consistency.CONSISTENCY_ANY)
                        .build()));
        assertThat(hit.getPathList()).isNotEmpty().allMatch(s -> s.getCached());
        assertThat(Uid.fromProto(hit.getUid())).isEqualTo(uids.get(0));

        // Errors are answers on the call, with the status Resolve would have failed with.
        CompletableFuture<LookupResult> bad = client.resolve("svc@@x");
        assertThatThrownBy(() -> get(bad))
            .hasCauseInstanceOf(StatusRuntimeException.class)
            .cause()
            .satisfies(
                e -> {
                  Status s = Status.fromThrowable(e);
                  assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
                  assertThat(s.getDescription()).contains("position 4");
                });
        assertThat(
                failureCode(
                    client.resolve(
                        ResolveRequest.newBuilder()
                            .setName("svc@demo/s1")
                            .setConsistencyValue(99)
                            .build())))
            .isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(get(client.resolve("svc@demo/absent")).getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
        LookupResult linear =
            get(
                client.resolve(
                    ResolveRequest.newBuilder()
                        .setName("svc@demo/s1")
                        .setConsistency(Consistency.CONSISTENCY_LINEARIZABLE)
                        .build()));
        assertThat(Uid.fromProto(linear.getUid())).isEqualTo(uids.get(1));

        // 5,000 resolves in flight at once, walks, hits and bad names mixed: each future gets
        // the answer to its own name.
        List<String> names = new ArrayList<>();
        List<CompletableFuture<LookupResult>> answers = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
          String name = i % 7 == 3 ? "svc@demo/s" + (i % 20) + "/@" : "svc@demo/s" + (i % 20);
          names.add(name);
          answers.add(client.resolve(name));
        }
        for (int i = 0; i < names.size(); i++) {
          String name = names.get(i);
          if (name.endsWith("@")) {
            assertThat(failureCode(answers.get(i)))
                .as(name)
                .isEqualTo(Status.Code.INVALID_ARGUMENT);
          } else {
            LookupResult res = get(answers.get(i));
            assertThat(res.getAlias().getText()).as(name).isEqualTo(name);
            assertThat(Uid.fromProto(res.getUid())).isEqualTo(uids.get(i % 20));
          }
        }
        assertThat(client.waiting()).isZero();
      } finally {
        ch.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * A client that sends and reads nothing: the resolver stops taking its requests once its replies
   * cannot be sent, so the client's own send buffer fills (isReady turns false) instead of the
   * resolver's memory. Once the client reads, every request sent is answered and the call ends
   * cleanly on half-close.
   */
  @Test
  void aClientThatDoesNotReadIsHeldBackByFlowControlAndLosesNothing() throws Exception {
    try (FabricFixture f = new FabricFixture(dir.resolve("fabric"));
        AnfResolver r = new AnfResolver(ResolverConfig.of(f.configuredAddresses()));
        ResolverServiceImpl svc = new ResolverServiceImpl(r)) {
      long demo = f.fabric.scopeOf(Alias.parse("svc@demo"));
      Uid uid = f.bind(0, demo, "svc@demo/held", "10.4.4.4");
      Server server = serve(svc);
      ManagedChannel ch =
          NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort()).usePlaintext().build();
      try {
        Set<Long> answered = ConcurrentHashMap.newKeySet();
        AtomicReference<@Nullable Throwable> failed = new AtomicReference<>();
        CountDownLatch ended = new CountDownLatch(1);
        AtomicReference<@Nullable ClientCallStreamObserver<StreamResolveRequest>> callRef =
            new AtomicReference<>();
        ClientResponseObserver<StreamResolveRequest, StreamResolveReply> replies =
            new ClientResponseObserver<>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<StreamResolveRequest> call) {
                call.disableAutoRequestWithInitial(0);
                callRef.set(call);
              }

              @Override
              public void onNext(StreamResolveReply reply) {
                if (!reply.hasResult() || !Uid.fromProto(reply.getResult().getUid()).equals(uid)) {
                  failed.compareAndSet(null, new AssertionError("not the bound UID: " + reply));
                } else if (!answered.add(reply.getId())) {
                  failed.compareAndSet(null, new AssertionError("two replies to " + reply.getId()));
                }
              }

              @Override
              public void onError(Throwable t) {
                failed.compareAndSet(null, t);
                ended.countDown();
              }

              @Override
              public void onCompleted() {
                ended.countDown();
              }
            };
        StreamObserver<StreamResolveRequest> requests =
            ResolverServiceGrpc.newStub(ch).resolveStream(replies);
        ClientCallStreamObserver<StreamResolveRequest> call =
            java.util.Objects.requireNonNull(callRef.get(), "beforeStart was not called");
        FabricFixture.await("the call is ready", WAIT, call::isReady);
        // Send while the call takes requests; a call that stays unready for 3 s is held back (a
        // resolver that read on regardless would let it go on to the cap).
        long sent = 0;
        while (sent < 2_000_000 && readyWithin(call, Duration.ofSeconds(3))) {
          sent++;
          requests.onNext(
              StreamResolveRequest.newBuilder()
                  .setId(sent)
                  .setRequest(ResolveRequest.newBuilder().setName("svc@demo/held"))
                  .build());
        }
        System.out.println("ResolveStreamIT: the client was held back after " + sent + " requests");
        assertThat(sent).as("held back before 2,000,000 requests").isLessThan(2_000_000);
        assertThat(answered).as("nothing read yet").isEmpty();
        call.request(Integer.MAX_VALUE);
        requests.onCompleted();
        assertThat(ended.await(WAIT.toSeconds(), TimeUnit.SECONDS)).isTrue();
        assertThat(failed.get()).isNull();
        assertThat(answered).hasSize((int) sent);
      } finally {
        ch.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
