package org.anf.resolver.cache;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BooleanSupplier;
import org.anf.proto.v1.LineageEntry;
import org.anf.resolver.testing.ScriptedAnchor;
import org.junit.jupiter.api.Test;

/** Watch streams over real gRPC: when a scope's cached answers may be trusted. */
class ScopeWatchesTest {
  static void await(String what, BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(10);
    }
  }

  @Test
  void aStreamFromPositionZeroIsNotLiveUntilItsFirstEvent() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    List<Long> entries = new CopyOnWriteArrayList<>();
    try (ScriptedAnchor anchor = new ScriptedAnchor(7)) {
      ManagedChannel ch = NettyChannelBuilder.forTarget(anchor.address()).usePlaintext().build();
      ScopeWatches w =
          new ScopeWatches(
              a -> ch,
              timer,
              new ScopeWatches.Listener() {
                @Override
                public void entry(long scope, LineageEntry e) {
                  entries.add(e.getSeq());
                }

                @Override
                public void reset(long scope) {}
              },
              16);
      try {
        w.ensure(7, List.of(anchor.address()), 0);
        // Connected (the anchor has the call) but silent: nothing shows it is live yet.
        await("the Watch call at the anchor", () -> anchor.watches.get() == 1);
        assertThat(w.live(7)).isFalse();
        assertThat(w.coherent(7, 5)).isFalse();

        anchor.commit(6);
        await("the stream live after its first event", () -> w.live(7));
        assertThat(entries).containsExactly(6L);
        assertThat(w.coherent(7, 6)).isTrue();
        // An answer older than what the stream delivered is not.
        assertThat(w.coherent(7, 5)).isFalse();
        assertThat(w.behind(7, 5)).isTrue();
      } finally {
        w.close();
        ch.shutdownNow();
      }
    } finally {
      timer.shutdownNow();
    }
  }

  @Test
  void aStreamFromAKnownPositionIsLiveOnceTheAnchorRedeliversIt() throws Exception {
    ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
    try (ScriptedAnchor anchor = new ScriptedAnchor(9)) {
      ManagedChannel ch = NettyChannelBuilder.forTarget(anchor.address()).usePlaintext().build();
      List<Long> entries = new CopyOnWriteArrayList<>();
      ScopeWatches w =
          new ScopeWatches(
              a -> ch,
              timer,
              new ScopeWatches.Listener() {
                @Override
                public void entry(long scope, LineageEntry e) {
                  entries.add(e.getSeq());
                }

                @Override
                public void reset(long scope) {}
              },
              16);
      try {
        w.ensure(9, List.of(anchor.address()), 4);
        await("live", () -> w.live(9));
        // The redelivered entry is what the cache knew: no invalidation.
        assertThat(entries).isEmpty();
        assertThat(w.coherent(9, 4)).isTrue();
        anchor.commit(5);
        await("entry 5 delivered", () -> entries.contains(5L));
        assertThat(w.coherent(9, 4)).isFalse();
      } finally {
        w.close();
        ch.shutdownNow();
      }
    } finally {
      timer.shutdownNow();
    }
  }
}
