package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.proto.v1.ObjectRecord;
import org.junit.jupiter.api.Test;

/**
 * A snapshot that cannot be written (here: the anchor's data directory removed under it) is a
 * failed snapshot, reported as Ratis expects, not a state machine stuck retrying it: the anchor
 * still stops, and the other anchors keep committing.
 */
class SnapshotFailureIT {
  @Test
  void anAnchorWhoseDataDirectoryIsGoneFailsItsSnapshotAndStillStops() throws Exception {
    // Snapshots on (as `anf dev` and the default anchor.yaml have them): Ratis then also takes one
    // when a group stops.
    try (TestCluster c =
        new TestCluster(3, TestCluster.Options.DEFAULT.withSnapshotEvery(100_000))) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      c.submit(0, c.factory.bind(svc, Alias.parse("svc@a"), ObjectRecord.getDefaultInstance()));
      AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);

      deleteTree(c.dir.resolve(TestCluster.id(2)));
      ScopeStateMachine sm = Objects.requireNonNull(c.node(2).scope(svc));
      c.submit(0, c.factory.bind(svc, Alias.parse("svc@b"), ObjectRecord.getDefaultInstance()));
      TestCluster.await(
          "a3 applies the second bind",
          java.time.Duration.ofSeconds(30),
          () -> sm.appliedIndex() >= Objects.requireNonNull(c.node(0).scope(svc)).appliedIndex());
      // Held synchronous (as an operator's request is), the failure is the call's own.
      try (var sync = sm.holdSynchronousSnapshots()) {
        assertThatThrownBy(sm::takeSnapshot)
            .isInstanceOf(IOException.class)
            .hasMessageContaining("cannot take a snapshot");
      }

      // Stopping takes a snapshot of every group: it fails, and the stop still ends.
      CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> c.stop(2));
      stopped.get(60, TimeUnit.SECONDS);
      assertThat(c.running(2)).isFalse();

      c.submit(0, c.factory.bind(svc, Alias.parse("svc@c"), ObjectRecord.getDefaultInstance()));
      AnchorClusterIT.awaitConverged(c, svc, 0, 1);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    try (Stream<Path> s = Files.walk(p)) {
      for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(f);
      }
    }
  }
}
