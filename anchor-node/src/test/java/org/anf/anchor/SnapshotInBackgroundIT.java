package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.store.ScopeSnapshots;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.uid.Uid;
import org.junit.jupiter.api.Test;

/**
 * An automatic snapshot is RocksDB made durable beside the apply thread: while its flush is held
 * the group goes on committing and applying writes and Ratis keeps its log whole (the new snapshot
 * is not yet durable); once flushed the log is purged up to it, with no snapshot file written; and
 * a replica that missed the purged entries catches up by installing a file its leader writes, from
 * the pinned state, only then.
 */
class SnapshotInBackgroundIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** Holds every automatic snapshot's flush of one scope, on every node, until released. */
  static final class WriterGate {
    private volatile long scope;
    private final CountDownLatch open = new CountDownLatch(1);
    // Node -> index of the first snapshot its writer was held at.
    final Map<Integer, Long> heldAt = new ConcurrentHashMap<>();

    ScopeRegistry.ApplyHook hookFor(int n) {
      return new ScopeRegistry.ApplyHook() {
        @Override
        public void beforeApply(long scopeId, long index) {}

        @Override
        public void beforeSnapshotFlush(long scopeId, long index) {
          if (scopeId != scope) {
            return;
          }
          heldAt.putIfAbsent(n, index);
          try {
            // Bounded, so a failing test cannot wedge the node's shutdown.
            open.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
    }
  }

  @Test
  void writesGoOnWhileASnapshotIsMadeDurableAndItsFileIsWrittenOnlyForAFollower() throws Exception {
    WriterGate gate = new WriterGate();
    try (TestCluster c =
        new TestCluster(
            3,
            TestCluster.Options.DEFAULT.withSnapshotEvery(700).withPurgeGap(8),
            i -> AnchorNode.Hooks.applies(gate.hookFor(i)))) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
      gate.scope = svc;
      // 64 KiB log segments (TestCluster) hold about 570 entries here; a bind is about 1.6. The
      // first snapshot is due at index 700, past a closed segment that reporting it would purge.

      int lagging = 2;
      long laggingNeeds = c.node(lagging).groups().division(svc).getRaftLog().getNextIndex();
      c.stop(lagging);
      Map<String, Uid> acked = new LinkedHashMap<>();
      acked.putAll(AnchorClusterIT.bind(c, 0, svc, "svc@first", 500));
      for (int n : new int[] {0, 1}) {
        TestCluster.await(
            "a snapshot's flush starts on " + TestCluster.id(n),
            WAIT,
            () -> gate.heldAt.containsKey(n));
      }

      // The flushes are held: every write is still committed and applied on both anchors, and
      // enough of them to fill closed log segments, which a snapshot reported now would purge.
      acked.putAll(AnchorClusterIT.bind(c, 1, svc, "svc@during", 400));
      for (int n : new int[] {0, 1}) {
        int node = n;
        long held = Objects.requireNonNull(gate.heldAt.get(n));
        TestCluster.await(
            TestCluster.id(n) + " holds every bind",
            WAIT,
            () -> AnchorClusterIT.holds(c, node, svc, acked));
        var sm = Objects.requireNonNull(c.node(n).scope(svc));
        assertThat(sm.appliedIndex()).isGreaterThanOrEqualTo(held + 400);
        // Nothing is reported, or purged, before the state is durable.
        var latest = sm.latestSnapshot();
        assertThat(latest == null ? -1 : latest.getIndex()).isLessThan(held);
        assertThat(c.node(n).groups().division(svc).getRaftLog().getStartIndex())
            .isLessThanOrEqualTo(laggingNeeds);
      }

      gate.open.countDown();
      // Ratis collects a finished snapshot only at an apply round after the flush ends, so write
      // until it has (one bind per poll; a flush slower than the first binds is then still seen).
      int[] after = {0};
      for (int n : new int[] {0, 1}) {
        long held = Objects.requireNonNull(gate.heldAt.get(n));
        var sm = Objects.requireNonNull(c.node(n).scope(svc));
        var log = c.node(n).groups().division(svc).getRaftLog();
        TestCluster.await(
            TestCluster.id(n) + " records the snapshot at " + held + " and purges its log",
            WAIT,
            () -> {
              var latest = sm.latestSnapshot();
              boolean done =
                  latest != null && latest.getIndex() >= held && log.getStartIndex() > laggingNeeds;
              if (!done) {
                acked.putAll(AnchorClusterIT.bind(c, 0, svc, "svc@after" + after[0]++, 1));
              }
              return done;
            });
      }

      // Neither anchor wrote a snapshot file.
      for (int n : new int[] {0, 1}) {
        assertThat(snapshotFiles(c, n, svc)).isEmpty();
        assertThat(Objects.requireNonNull(c.node(n).scope(svc)).latestSnapshotFile()).isNull();
      }

      // The stopped anchor needs entries no log holds: its leader writes the file from the state
      // it pinned, and the anchor installs it and ends with every acknowledged bind.
      c.start(lagging);
      TestCluster.await(
          "the lagging anchor catches up",
          Duration.ofSeconds(60),
          () -> AnchorClusterIT.holds(c, lagging, svc, acked));
      assertThat(Objects.requireNonNull(c.node(lagging).scope(svc)).snapshotsInstalled())
          .isPositive();
      AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
      // The leader that sent it wrote it on demand.
      assertThat(snapshotFiles(c, 0, svc).size() + snapshotFiles(c, 1, svc).size()).isPositive();

      // An operator's request met by the latest snapshot (nothing applied since) gets its file,
      // written from the pinned state.
      var sm = Objects.requireNonNull(c.node(1).scope(svc));
      var latest = Objects.requireNonNull(sm.latestSnapshot());
      var file = Objects.requireNonNull(sm.snapshotFile(latest.getIndex()));
      assertThat(file.getIndex()).isEqualTo(latest.getIndex());
      assertThat(ScopeSnapshots.read(file.getFile().getPath()).at().index())
          .isEqualTo(latest.getIndex());
    }
  }

  /** The scope's snapshot files in a node's {@code sm/} directory for the group. */
  static java.util.List<java.nio.file.Path> snapshotFiles(TestCluster c, int n, long scope)
      throws java.io.IOException {
    java.nio.file.Path sm =
        c.node(n)
            .groups()
            .division(scope)
            .getRaftStorage()
            .getStorageDir()
            .getStateMachineDir()
            .toPath();
    try (var s = java.nio.file.Files.list(sm)) {
      return s.filter(p -> p.getFileName().toString().endsWith(".anf")).toList();
    }
  }
}
