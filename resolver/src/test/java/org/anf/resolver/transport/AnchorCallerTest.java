package org.anf.resolver.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Server;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hedging and failed-anchor avoidance, against real gRPC servers on loopback that implement
 * AnchorService with injected faults (a delay, a failure, "scope not hosted here"). Time that
 * decides avoidance comes from a clock the test moves.
 */
class AnchorCallerTest {
  /** What an anchor does with the next lookups. */
  enum Behaviour {
    ANSWER,
    /** Answers after {@link FaultyAnchor#delayMs}. */
    SLOW,
    /** UNAVAILABLE at once: a failed anchor. */
    FAIL,
    /** NOT_FOUND at once: the anchor does not host the scope (not a failure). */
    NOT_HOSTED
  }

  /** One fake anchor: a real gRPC server whose Lookup has an injected fault. */
  static final class FaultyAnchor extends AnchorServiceGrpc.AnchorServiceImplBase {
    final String id;
    final ScheduledExecutorService delayer = Executors.newSingleThreadScheduledExecutor();
    final AtomicInteger calls = new AtomicInteger();
    final CountDownLatch cancelled = new CountDownLatch(1);
    final List<String> arrivals;
    volatile Behaviour behaviour = Behaviour.ANSWER;
    volatile long delayMs;
    final Server server;

    FaultyAnchor(String id, List<String> arrivals) throws IOException {
      this.id = id;
      this.arrivals = arrivals;
      server =
          NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
              .addService(this)
              .build()
              .start();
    }

    String address() {
      return "127.0.0.1:" + server.getPort();
    }

    @Override
    public void lookup(LookupRequest req, StreamObserver<LookupResult> out) {
      calls.incrementAndGet();
      arrivals.add(id);
      ServerCallStreamObserver<LookupResult> call = (ServerCallStreamObserver<LookupResult>) out;
      call.setOnCancelHandler(cancelled::countDown);
      LookupResult answer =
          LookupResult.newBuilder()
              .setStatus(LookupStatus.LOOKUP_STATUS_EXACT)
              .setScopeId(req.getScopeId())
              .setAnchorId(id)
              .build();
      switch (behaviour) {
        case ANSWER -> {
          out.onNext(answer);
          out.onCompleted();
        }
        case SLOW -> {
          java.util.concurrent.Future<?> unused =
              delayer.schedule(
                  () -> {
                    if (!call.isCancelled()) {
                      out.onNext(answer);
                      out.onCompleted();
                    }
                  },
                  delayMs,
                  TimeUnit.MILLISECONDS);
        }
        case FAIL ->
            out.onError(
                Status.UNAVAILABLE.withDescription(id + " is failing").asRuntimeException());
        case NOT_HOSTED ->
            out.onError(
                Status.NOT_FOUND.withDescription(id + " does not host it").asRuntimeException());
      }
    }

    void close() throws InterruptedException {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      delayer.shutdownNow();
    }
  }

  final List<String> arrivals = new CopyOnWriteArrayList<>();
  final List<FaultyAnchor> anchors = new ArrayList<>();
  final ScheduledExecutorService timer = Executors.newScheduledThreadPool(2);
  final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  @Nullable AnchorCaller caller;

  FaultyAnchor anchor(String id) throws IOException {
    FaultyAnchor a = new FaultyAnchor(id, arrivals);
    anchors.add(a);
    return a;
  }

  AnchorCaller caller(Duration timeout, Duration hedge, Duration avoid) {
    caller = new AnchorCaller(timer, timeout, hedge, avoid, nanos::get);
    return caller;
  }

  static LookupRequest req() {
    return LookupRequest.newBuilder().setScopeId(42).build();
  }

  @AfterEach
  void close() throws InterruptedException {
    AnchorCaller c = caller;
    if (c != null) {
      c.close();
    }
    for (FaultyAnchor a : anchors) {
      a.close();
    }
    timer.shutdownNow();
  }

  @Test
  void aSlowFirstAnchorIsHedgedToTheSecondWhichAnswersAndTheSlowCallIsCancelled() throws Exception {
    FaultyAnchor slow = anchor("slow");
    FaultyAnchor quick = anchor("quick");
    slow.behaviour = Behaviour.SLOW;
    slow.delayMs = 20_000;
    AnchorCaller c = caller(Duration.ofSeconds(60), Duration.ofMillis(50), Duration.ofSeconds(5));

    long t0 = System.nanoTime();
    AnchorCaller.Answer a = c.lookup(List.of(slow.address(), quick.address()), req());
    long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

    assertThat(a.address()).isEqualTo(quick.address());
    assertThat(a.result().getAnchorId()).isEqualTo("quick");
    // The slow anchor was asked first; the hedge went to the second while it was still waiting.
    assertThat(arrivals).containsExactly("slow", "quick");
    // Done long before the slow anchor's 20 s: the hedge answered, not the slow one.
    assertThat(tookMs).isLessThan(slow.delayMs);
    // Its call is cancelled rather than left running.
    assertThat(slow.cancelled.await(30, TimeUnit.SECONDS)).isTrue();
    // Slow is not failed: it is not avoided, and is asked first again.
    slow.behaviour = Behaviour.ANSWER;
    assertThat(c.lookup(List.of(slow.address(), quick.address()), req()).address())
        .isEqualTo(slow.address());
  }

  @Test
  void aFailingAnchorPassesTheRequestOnAtOnceWithoutWaitingForTheHedge() throws Exception {
    FaultyAnchor failing = anchor("failing");
    FaultyAnchor good = anchor("good");
    failing.behaviour = Behaviour.FAIL;
    // A hedge delay longer than the request timeout: only moving on at the failure can answer.
    AnchorCaller c = caller(Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofSeconds(5));
    AnchorCaller.Answer a = c.lookup(List.of(failing.address(), good.address()), req());
    assertThat(a.address()).isEqualTo(good.address());
    assertThat(arrivals).containsExactly("failing", "good");
  }

  @Test
  void aFailedAnchorIsAskedLastForTheConfiguredPeriodThenFirstAgain() throws Exception {
    FaultyAnchor failing = anchor("failing");
    FaultyAnchor good = anchor("good");
    failing.behaviour = Behaviour.FAIL;
    Duration avoid = Duration.ofSeconds(5);
    // No hedging within the test: the order alone decides who is asked.
    AnchorCaller c = caller(Duration.ofSeconds(20), Duration.ofSeconds(60), avoid);
    List<String> both = List.of(failing.address(), good.address());

    assertThat(c.lookup(both, req()).address()).isEqualTo(good.address());
    assertThat(failing.calls.get()).isEqualTo(1);
    assertThat(c.order(both)).containsExactly(good.address(), failing.address());

    // Within the period, even recovered, the failed anchor is not asked while another answers.
    failing.behaviour = Behaviour.ANSWER;
    for (int i = 0; i < 5; i++) {
      nanos.addAndGet(avoid.toNanos() / 10);
      assertThat(c.lookup(both, req()).address()).isEqualTo(good.address());
    }
    assertThat(failing.calls.get()).isEqualTo(1);

    // Once the period is over it is first again.
    nanos.addAndGet(avoid.toNanos());
    assertThat(c.order(both)).containsExactly(failing.address(), good.address());
    assertThat(c.lookup(both, req()).address()).isEqualTo(failing.address());
    assertThat(failing.calls.get()).isEqualTo(2);
  }

  @Test
  void anAnchorThatDoesNotHostTheScopeIsNotAvoided() throws Exception {
    FaultyAnchor other = anchor("other");
    FaultyAnchor host = anchor("host");
    other.behaviour = Behaviour.NOT_HOSTED;
    AnchorCaller c = caller(Duration.ofSeconds(20), Duration.ofSeconds(60), Duration.ofSeconds(5));
    List<String> both = List.of(other.address(), host.address());
    assertThat(c.lookup(both, req()).address()).isEqualTo(host.address());
    // Not hosting is an answer about the scope, not a fault of the anchor.
    assertThat(c.order(both)).containsExactly(other.address(), host.address());
  }

  @Test
  void whenEveryAnchorFailsTheErrorNamesEachOne() throws Exception {
    FaultyAnchor a = anchor("a");
    FaultyAnchor b = anchor("b");
    a.behaviour = Behaviour.FAIL;
    b.behaviour = Behaviour.FAIL;
    AnchorCaller c = caller(Duration.ofSeconds(20), Duration.ofMillis(50), Duration.ofSeconds(5));
    org.assertj.core.api.Assertions.assertThatThrownBy(
            () -> c.lookup(List.of(a.address(), b.address()), req()))
        .isInstanceOfSatisfying(
            org.anf.lineage.error.AnfException.class,
            e -> assertThat(e.code()).isEqualTo(org.anf.lineage.error.ErrorCode.UNAVAILABLE))
        .hasMessageContaining("a is failing")
        .hasMessageContaining("b is failing");
  }
}
