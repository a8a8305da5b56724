package org.anf.anchor.statemachine;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.statemachine.SnapshotInfo;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A snapshot that is RocksDB itself: the scope's state at an applied index, durable on disk (the
 * memtables were flushed) and frozen by a RocksDB snapshot. Taking one costs a flush, not a copy of
 * the scope, as etcd's snapshot is a backend commit.
 *
 * <p>Its file is written only when asked for: when a leader must send it to a follower that fell
 * behind the purged log, Ratis calls {@link #getFiles} on that follower's log appender thread,
 * which then writes the file from the frozen view (seconds for a scope of hundreds of MB, during
 * which that one follower is sent nothing). Every later caller gets the same file.
 */
final class PinnedSnapshot implements SnapshotInfo {
  private static final Logger LOG = LoggerFactory.getLogger(PinnedSnapshot.class);

  private final String scope;
  private final NodeStore.ScopeView view;
  private final TermIndex at;
  private final Path file;
  private final Consumer<PinnedSnapshot> onWritten;
  // Guarded by this.
  private @Nullable CompletableFuture<List<FileInfo>> files;
  private boolean retired;

  PinnedSnapshot(
      String scope, NodeStore.ScopeView view, Path file, Consumer<PinnedSnapshot> onWritten) {
    this.scope = scope;
    this.view = view;
    NodeStore.Applied a = view.applied();
    this.at = TermIndex.valueOf(a.term(), a.index());
    this.file = file;
    this.onWritten = onWritten;
  }

  @Override
  public TermIndex getTermIndex() {
    return at;
  }

  Path file() {
    return file;
  }

  @Override
  public List<FileInfo> getFiles() {
    CompletableFuture<List<FileInfo>> f;
    boolean mine = false;
    synchronized (this) {
      if (files == null) {
        if (retired) {
          // A newer snapshot replaced this one and released its view: Ratis asks again and gets
          // the newer one (its log appender restarts on this exception).
          throw new IllegalStateException(this + " was superseded before its file was written");
        }
        files = new CompletableFuture<>();
        mine = true;
      }
      f = files;
    }
    if (mine) {
      write(f);
    }
    try {
      return f.join();
    } catch (java.util.concurrent.CompletionException e) {
      // The write's own error (a closed store, a full disk), not its wrapper.
      throw e.getCause() instanceof RuntimeException r ? r : e;
    }
  }

  private void write(CompletableFuture<List<FileInfo>> f) {
    try {
      ScopeSnapshots.Written w = ScopeSnapshots.write(view, file);
      LOG.info(
          "scope {}: snapshot at index {} written to {} for a follower ({} bytes, {} ms, {} ms"
              + " CPU)",
          scope,
          at.getIndex(),
          file.getFileName(),
          w.bytes(),
          w.wallMs(),
          w.cpuMs());
      onWritten.accept(this);
      f.complete(List.of(new FileInfo(file, null)));
    } catch (Throwable e) {
      synchronized (this) {
        // The next caller tries again, if the view is still held.
        files = null;
      }
      f.completeExceptionally(e);
    } finally {
      synchronized (this) {
        if (retired) {
          view.close();
        }
      }
    }
  }

  /**
   * Lets RocksDB drop the versions this view pins, now or once a file being written from it is done
   * (the file, if written, stays). Returns whether the view was released now.
   */
  synchronized boolean retire() {
    retired = true;
    if (files == null || files.isDone()) {
      view.close();
      return true;
    }
    return false;
  }

  /** Retires this and waits for a file being written from it (before RocksDB closes). */
  void retireAndAwait() {
    CompletableFuture<List<FileInfo>> f;
    synchronized (this) {
      retire();
      f = files;
    }
    if (f != null) {
      try {
        f.join();
      } catch (RuntimeException e) {
        // Reported to the caller that asked for the file.
      }
    }
  }

  @Override
  public String toString() {
    return "snapshot of scope " + scope + " at " + at + " (RocksDB; file " + file + ")";
  }
}
