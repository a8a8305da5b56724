package org.anf.anchor.statemachine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.anf.lineage.kv.WriteSet;
import org.anf.lineage.state.StateKeys;
import org.apache.ratis.server.storage.FileInfo;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pinned snapshot on a real RocksDB: its file, written only when asked for, holds the state as of
 * the pin, is written once however many ask, and a retired snapshot releases its view.
 */
class PinnedSnapshotTest {
  private static final long SCOPE = 42;

  @TempDir Path dir;
  private NodeStore node;
  private final AtomicInteger written = new AtomicInteger();

  @BeforeEach
  void open() {
    node = new NodeStore(dir.resolve("rocksdb"), false);
    bind("a", 1, 5);
    bind("b", 1, 6);
  }

  @AfterEach
  void close() {
    node.close();
  }

  private void bind(String alias, long term, long index) {
    WriteSet ws = new WriteSet();
    byte[] key = (" " + alias).getBytes(java.nio.charset.StandardCharsets.UTF_8);
    key[0] = StateKeys.BINDING;
    ws.put(key, new byte[] {1, 2, 3});
    node.write(SCOPE, ws, new NodeStore.Applied(term, index));
  }

  private PinnedSnapshot pin() throws java.io.IOException {
    Files.createDirectories(dir.resolve("sm"));
    NodeStore.ScopeView view = node.view(SCOPE);
    Path file =
        dir.resolve("sm")
            .resolve(ScopeSnapshots.fileName(view.applied().term(), view.applied().index()));
    return new PinnedSnapshot("s", view, file, p -> written.incrementAndGet());
  }

  @Test
  void theFileHoldsTheStateAsOfThePinAndIsWrittenOnce() throws Exception {
    PinnedSnapshot p = pin();
    bind("c", 2, 7);
    assertThat(Files.exists(p.file())).isFalse();

    List<FileInfo> files = p.getFiles();
    assertThat(files).hasSize(1);
    ScopeSnapshots.Contents c = ScopeSnapshots.read(files.get(0).getPath());
    assertThat(c.at()).isEqualTo(new NodeStore.Applied(1, 6));
    assertThat(c.keys()).hasSize(2);
    assertThat(p.getIndex()).isEqualTo(6);

    assertThat(p.getFiles()).isSameAs(files);
    assertThat(written).hasValue(1);
    assertThat(p.retire()).isTrue();
    assertThat(Files.exists(p.file())).isTrue();
  }

  @Test
  void callersAtOnceShareOneWrite() throws Exception {
    PinnedSnapshot p = pin();
    // Four threads of their own, released together (the common pool may have only one).
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(4);
    java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
    try {
      List<CompletableFuture<List<FileInfo>>> calls =
          java.util.stream.IntStream.range(0, 4)
              .mapToObj(
                  i ->
                      CompletableFuture.supplyAsync(
                          () -> {
                            try {
                              go.await();
                            } catch (InterruptedException e) {
                              Thread.currentThread().interrupt();
                            }
                            return p.getFiles();
                          },
                          pool))
              .toList();
      go.countDown();
      List<FileInfo> first = calls.get(0).join();
      for (CompletableFuture<List<FileInfo>> f : calls) {
        assertThat(f.join()).isSameAs(first);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(written).hasValue(1);
    p.retireAndAwait();
  }

  @Test
  void aRetiredSnapshotReleasesItsViewAndWritesNoFile() throws Exception {
    NodeStore.ScopeView view = node.view(SCOPE);
    PinnedSnapshot p =
        new PinnedSnapshot("s", view, dir.resolve(ScopeSnapshots.fileName(1, 6)), q -> {});
    assertThat(p.retire()).isTrue();
    assertThatThrownBy(() -> view.scan(false, (k, v) -> true))
        .isInstanceOf(IllegalStateException.class);
    assertThatThrownBy(p::getFiles)
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("superseded");
    assertThat(Files.exists(dir.resolve(ScopeSnapshots.fileName(1, 6)))).isFalse();
  }

  @Test
  void aStoreClosedUnderAPinnedSnapshotRefusesInsteadOfCrashing() throws Exception {
    // A group's stop snapshot or a follower's file can outlive the node's RocksDB: a native call
    // on a closed RocksDB would take the JVM down.
    PinnedSnapshot p = pin();
    node.close();
    assertThatThrownBy(node::flush)
        .isInstanceOf(org.anf.lineage.error.AnfException.class)
        .hasMessageContaining("closed");
    assertThatThrownBy(() -> node.view(SCOPE)).hasMessageContaining("closed");
    assertThatThrownBy(p::getFiles).hasMessageContaining("closed");
    assertThat(p.retire()).isTrue();
  }
}
