package org.anf.resolver.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.anf.proto.v1.AliasEvent;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.WatchAliasRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.testing.ScriptedAnchor;
import org.junit.jupiter.api.Test;

/**
 * WatchAlias cancelled while its re-resolve is failing and being retried (the anchor's lookups fail
 * on cue, its Watch stream stays up): the cancel is honoured at once, not after the retries.
 */
class WatchAliasCancelTest {
  static void await(String what, Duration timeout, BooleanSupplier cond)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void cancelDuringRetriesReleasesTheResolverWithoutWaitingForThem() throws Exception {
    try (ScriptedAnchor anchor = new ScriptedAnchor(7);
        AnfResolver resolver =
            new AnfResolver(
                ResolverConfig.of(List.of(anchor.address()))
                    .withTimeouts(
                        Duration.ofSeconds(5), Duration.ofMillis(50), Duration.ofMillis(1)));
        ResolverServiceImpl svc = new ResolverServiceImpl(resolver)) {
      Server server =
          NettyServerBuilder.forAddress(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))
              .addService(svc)
              .build()
              .start();
      ManagedChannel ch =
          NettyChannelBuilder.forTarget("127.0.0.1:" + server.getPort()).usePlaintext().build();
      Context.CancellableContext call = Context.current().withCancellation();
      try {
        Iterator<AliasEvent> events =
            call.call(
                () ->
                    ResolverServiceGrpc.newBlockingStub(ch)
                        .withDeadlineAfter(120, TimeUnit.SECONDS)
                        .watchAlias(WatchAliasRequest.newBuilder().setName("svc@x").build()));
        assertThat(events.next().getResult().getStatus())
            .isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
        await("the scope's Watch live", Duration.ofSeconds(30), () -> resolver.watching(7));

        anchor.failLookups = true;
        int before = anchor.lookups.get();
        anchor.commit(2);
        // The entry makes WatchAlias re-resolve; each attempt fails and is retried.
        await(
            "two failed re-resolves",
            Duration.ofSeconds(30),
            () -> anchor.lookups.get() >= before + 2);
        assertThat(resolver.lineageListeners()).isEqualTo(1);

        call.cancel(null);
        // Thirty attempts with back-off would take about a minute: this must not wait for them.
        await(
            "the listener released after cancel",
            Duration.ofSeconds(10),
            () -> resolver.lineageListeners() == 0);
      } finally {
        call.cancel(null);
        ch.shutdownNow();
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }
}
