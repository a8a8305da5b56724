package org.anf.anchor.statemachine;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.jspecify.annotations.Nullable;

/**
 * Scope snapshot files in the group's {@code sm/} directory ({@link ScopeSnapshots} format). Ratis
 * streams the latest to followers that fell behind the purged log, and replaces the follower's
 * {@code sm/} with it; the live RocksDB lives elsewhere, so that replacement never touches it.
 */
final class SnapshotStorage implements StateMachineStorage {
  private volatile @Nullable Path dir;
  private volatile @Nullable SingleFileSnapshotInfo latest;
  private long cleanedAt = Long.MIN_VALUE;

  @Override
  public void init(RaftStorage storage) throws IOException {
    File sm = storage.getStorageDir().getStateMachineDir();
    Path d = sm.toPath();
    Files.createDirectories(d);
    dir = d;
    // A file half written when the process died (ScopeSnapshots writes *.anf.tmp, then renames).
    try (Stream<Path> s = Files.list(d)) {
      for (Path p : s.filter(p -> p.getFileName().toString().endsWith(".anf.tmp")).toList()) {
        Files.deleteIfExists(p);
      }
    }
    rescan();
  }

  Path dir() {
    Path d = dir;
    if (d == null) {
      throw new IllegalStateException("snapshot storage used before init");
    }
    return d;
  }

  /** Re-reads the directory: after start, and after Ratis installed a snapshot from the leader. */
  synchronized void rescan() throws IOException {
    SingleFileSnapshotInfo best = null;
    for (Path p : list()) {
      NodeStore.Applied at = ScopeSnapshots.parseName(p.getFileName().toString());
      if (at != null && (best == null || at.index() > best.getIndex())) {
        best = new SingleFileSnapshotInfo(new FileInfo(p, null), at.term(), at.index());
      }
    }
    latest = best;
  }

  private List<Path> list() throws IOException {
    List<Path> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir())) {
      s.filter(p -> p.getFileName().toString().endsWith(".anf")).forEach(out::add);
    }
    return out;
  }

  Path fileFor(long term, long index) {
    return dir().resolve(ScopeSnapshots.fileName(term, index));
  }

  synchronized void update(Path file, long term, long index) {
    latest = new SingleFileSnapshotInfo(new FileInfo(file, null), term, index);
  }

  @Override
  public @Nullable SingleFileSnapshotInfo getLatestSnapshot() {
    return latest;
  }

  @Override
  public void format() {}

  @Override
  public synchronized void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    // Ratis calls this after every takeSnapshot, which is after every apply round while a snapshot
    // is written in the background: list the directory only when there is a new snapshot.
    SingleFileSnapshotInfo l = latest;
    long now = l == null ? -1 : l.getIndex();
    if (now == cleanedAt) {
      return;
    }
    cleanedAt = now;
    int keep = policy.getNumSnapshotsRetained() > 0 ? policy.getNumSnapshotsRetained() : 2;
    List<Path> files = list();
    files.removeIf(p -> ScopeSnapshots.parseName(p.getFileName().toString()) == null);
    files.sort(
        Comparator.comparingLong(
                (Path p) ->
                    java.util.Objects.requireNonNull(
                            ScopeSnapshots.parseName(p.getFileName().toString()))
                        .index())
            .reversed());
    for (int i = keep; i < files.size(); i++) {
      Files.deleteIfExists(files.get(i));
      Files.deleteIfExists(files.get(i).resolveSibling(files.get(i).getFileName() + ".md5"));
    }
  }
}
