package org.anf.anchor.store;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;
import org.anf.lineage.kv.KeyValueView;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.kv.WriteSet;
import org.anf.lineage.state.StateKeys;
import org.jspecify.annotations.Nullable;

/**
 * One scope's state on this node: RocksDB underneath, and an in-memory mirror of every column
 * except the lineage entries, so lookups never touch the disk. Lineage entries (column L) are read
 * from RocksDB: they are history, read by GetLineage and Watch, not by lookups.
 *
 * <p>Writes come from the group's apply thread only; lookups run on any thread under the read lock,
 * so a lookup sees a whole mutation or none of it.
 */
public final class ScopeStore implements KeyValueView {
  private final long scopeId;
  private final NodeStore store;
  private final MemoryKv mirror = MemoryKv.sortedOnly(StateKeys.rangeScanned());
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  // The writes of a batch being applied (one Raft entry holding several mutations): reads of
  // lineage entries see them before they reach RocksDB, which gets them in one write.
  private @Nullable WriteSet pending;
  // What RocksDB records, kept here because apply asks for it once per entry; null until read.
  private volatile NodeStore.@Nullable Applied applied;

  public ScopeStore(long scopeId, NodeStore store) {
    this.scopeId = scopeId;
    this.store = store;
    reload();
  }

  public long scopeId() {
    return scopeId;
  }

  public NodeStore node() {
    return store;
  }

  /** Rebuilds the mirror from RocksDB (at start and after a snapshot install). */
  public void reload() {
    applied = null;
    lock.writeLock().lock();
    try {
      mirror.clear();
      store.scanScope(
          scopeId,
          false,
          (k, v) -> {
            mirror.put(k, v);
            return true;
          });
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public byte @Nullable [] get(byte[] key) {
    if (key.length > 0 && key[0] == StateKeys.LINEAGE) {
      WriteSet p = pending;
      if (p != null && p.contains(key)) {
        return p.valueOf(key);
      }
      return store.get(scopeId, key);
    }
    return mirror.get(key);
  }

  /**
   * Scans one column's range; a range in the lineage column reads RocksDB, any other reads the
   * mirror (a range across columns skips lineage entries, which the state digest leaves out).
   */
  @Override
  public void scan(byte[] from, byte[] to, Visitor visitor) {
    if (from.length > 0 && from[0] == StateKeys.LINEAGE) {
      store.scan(scopeId, from, to, visitor);
    } else {
      mirror.scan(from, to, visitor);
    }
  }

  /** Applies a delta: RocksDB first (one batch with the applied index), then the mirror. */
  public void apply(WriteSet writes, NodeStore.Applied at) {
    store.write(scopeId, writes, at);
    applied = at;
    applyToMirror(writes);
  }

  /** Starts a batch: {@link #stage} deltas, then {@link #commit} them to RocksDB at once. */
  public void begin() {
    pending = new WriteSet();
  }

  /** Applies a delta of the current batch to the mirror now and to RocksDB at commit. */
  public void stage(WriteSet writes) {
    WriteSet p = pending;
    if (p == null) {
      throw new IllegalStateException("stage() outside a batch");
    }
    p.putAll(writes);
    applyToMirror(writes);
  }

  /** Writes the batch and the applied index in one RocksDB write. */
  public void commit(NodeStore.Applied at) {
    WriteSet p = pending;
    pending = null;
    store.write(scopeId, p == null ? new WriteSet() : p, at);
    applied = at;
  }

  private void applyToMirror(WriteSet writes) {
    lock.writeLock().lock();
    try {
      writes.forEach(
          (k, v) -> {
            if (k[0] == StateKeys.LINEAGE) {
              return;
            }
            if (v == null) {
              mirror.remove(k);
            } else {
              mirror.put(k, v);
            }
          });
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Runs a read under the read lock, so it sees no half-applied mutation. */
  public <T> T read(Supplier<T> reader) {
    lock.readLock().lock();
    try {
      return reader.get();
    } finally {
      lock.readLock().unlock();
    }
  }

  public NodeStore.Applied applied() {
    NodeStore.Applied a = applied;
    if (a == null) {
      a = store.applied(scopeId);
      applied = a;
    }
    return a;
  }

  public int mirroredKeys() {
    return mirror.size();
  }
}
