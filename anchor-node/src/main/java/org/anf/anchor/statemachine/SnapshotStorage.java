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
import org.apache.ratis.statemachine.SnapshotInfo;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.jspecify.annotations.Nullable;

/**
 * A group's snapshots: the latest one Ratis is told of, which is either RocksDB itself ({@link
 * PinnedSnapshot}, what automatic snapshots are) or a file, and the scope snapshot files in the
 * group's {@code sm/} directory ({@link ScopeSnapshots} format): an operator's, one installed from
 * a leader, or one written from a pinned snapshot for a follower. Ratis streams the latest to a
 * follower that fell behind the purged log, and replaces that follower's {@code sm/} with it; the
 * live RocksDB lives elsewhere, so that replacement never touches it.
 */
final class SnapshotStorage implements StateMachineStorage {
  private volatile @Nullable Path dir;
  private volatile @Nullable SnapshotInfo latest;
  private volatile @Nullable SingleFileSnapshotInfo latestFile;
  // Replaced pinned snapshots with a file still being written from their view (guarded by this).
  private final List<PinnedSnapshot> retiring = new ArrayList<>();
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
    latestFile = best;
    if (best != null) {
      offer(best);
    }
  }

  /**
   * Makes {@code s} the latest snapshot unless one at a higher index is; a pinned snapshot it
   * replaces (or that loses) is retired.
   */
  synchronized void offer(SnapshotInfo s) {
    SnapshotInfo cur = latest;
    if (cur != null && cur.getIndex() > s.getIndex()) {
      retire(s);
      return;
    }
    latest = s;
    if (cur != null && cur != s) {
      retire(cur);
    }
  }

  private void retire(SnapshotInfo s) {
    if (s instanceof PinnedSnapshot p && !p.retire()) {
      retiring.add(p);
    }
  }

  /**
   * Retires every pinned snapshot and waits for files being written from them: before Ratis
   * replaces {@code sm/}, and before the node closes RocksDB.
   */
  void releaseAll() {
    List<PinnedSnapshot> all;
    synchronized (this) {
      all = new ArrayList<>(retiring);
      retiring.clear();
      // Only the latest snapshot can be pinned and not retired.
      if (latest instanceof PinnedSnapshot p) {
        all.add(p);
        latest = latestFile;
      }
    }
    for (PinnedSnapshot p : all) {
      p.retireAndAwait();
    }
  }

  /** A file written from a pinned snapshot (for a follower) is the latest file. */
  synchronized void written(PinnedSnapshot p) {
    SingleFileSnapshotInfo f = latestFile;
    if (f == null || f.getIndex() <= p.getIndex()) {
      latestFile =
          new SingleFileSnapshotInfo(new FileInfo(p.file(), null), p.getTerm(), p.getIndex());
    }
    retiring.remove(p);
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

  /** A file written now (an operator's snapshot) is the latest file and the latest snapshot. */
  synchronized void update(Path file, long term, long index) {
    SingleFileSnapshotInfo f = new SingleFileSnapshotInfo(new FileInfo(file, null), term, index);
    latestFile = f;
    offer(f);
  }

  @Override
  public @Nullable SnapshotInfo getLatestSnapshot() {
    return latest;
  }

  /** The newest snapshot file in {@code sm/}, which may be older than the latest snapshot. */
  @Nullable SingleFileSnapshotInfo latestFile() {
    return latestFile;
  }

  @Override
  public void format() {}

  @Override
  public synchronized void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    // Ratis calls this after every takeSnapshot, which is after every apply round while a snapshot
    // is being made durable: list the directory only when there is a new file.
    SingleFileSnapshotInfo l = latestFile;
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
