package org.anf.anchor.store;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.kv.KeyValueView;
import org.anf.lineage.kv.WriteSet;
import org.anf.lineage.state.StateKeys;
import org.jspecify.annotations.Nullable;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.CompressionType;
import org.rocksdb.DBOptions;
import org.rocksdb.FlushOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * One RocksDB instance per anchor node, shared by every scope the node hosts. Each column of a
 * scope's state ({@link StateKeys}) is a column family; every key is prefixed by the scope id, so
 * one scope's range can be read, dumped or dropped alone. The applied Raft (term, index) of each
 * scope sits in its own column family and is written in the same batch as the state it covers.
 */
public final class NodeStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  /** Column family per state column, plus the applied index. */
  private static final java.util.TreeMap<Byte, String> FAMILIES = new java.util.TreeMap<>();

  static {
    FAMILIES.put(StateKeys.META, "meta");
    FAMILIES.put(StateKeys.HEAD, "head");
    FAMILIES.put(StateKeys.BINDING, "bindings");
    FAMILIES.put(StateKeys.OBJECT, "objects");
    FAMILIES.put(StateKeys.DELEGATION, "delegations");
    FAMILIES.put(StateKeys.REDIRECT, "redirects");
    FAMILIES.put(StateKeys.REVOCATION, "revocations");
    FAMILIES.put(StateKeys.DEVICE, "devices");
    FAMILIES.put(StateKeys.REGISTER, "uid_register");
    FAMILIES.put(StateKeys.OUTCOME, "outcomes");
    FAMILIES.put(StateKeys.LINEAGE, "lineage");
    FAMILIES.put(StateKeys.TXN, "txns");
  }

  private static final String APPLIED = "applied";

  private final RocksDB db;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final List<ColumnFamilyHandle> handles = new ArrayList<>();
  private final Map<Byte, ColumnFamilyHandle> byColumn = new HashMap<>();
  private final ColumnFamilyHandle applied;
  private final WriteOptions writeOptions;
  private final boolean walless;
  private final Path dir;
  // Flushes, views and snapshot scans can run on threads the node does not stop before closing
  // RocksDB (a group's stop snapshot, a file written for a follower): a native call on a closed
  // RocksDB crashes the JVM, so these hold this shared and close() takes it exclusively.
  private final java.util.concurrent.locks.ReentrantReadWriteLock life =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  private volatile boolean closed;

  /** (term, index) of the last Raft entry applied to a scope. */
  public record Applied(long term, long index) {
    public static final Applied NONE = new Applied(0, -1);
  }

  /**
   * Opens (creating if needed) the store.
   *
   * @param syncWrites fsync RocksDB's WAL on every write (offline tools). Anchors pass false: the
   *     Raft log, which is fsynced, is what makes a commit durable, so RocksDB keeps no WAL at all.
   *     Its memtables then reach disk only by flushes, which are atomic across column families, so
   *     what survives a crash is always a whole prefix of the applied entries, with its applied
   *     index; recovery replays the log (or installs the latest snapshot) from there.
   */
  public NodeStore(Path dir, boolean syncWrites) {
    this.dir = dir;
    // Writing the WAL was 2 % of a bind's CPU (three replicas, one process) for no durability
    // the Raft log does not already give.
    this.walless = !syncWrites;
    try {
      Files.createDirectories(dir);
      dbOptions =
          new DBOptions()
              .setCreateIfMissing(true)
              .setCreateMissingColumnFamilies(true)
              .setMaxBackgroundJobs(2)
              .setKeepLogFileNum(3)
              .setAtomicFlush(walless);
      cfOptions = new ColumnFamilyOptions().setCompressionType(CompressionType.LZ4_COMPRESSION);
      List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
      descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
      List<Byte> columns = new ArrayList<>(FAMILIES.keySet());
      for (Map.Entry<Byte, String> e : FAMILIES.entrySet()) {
        descriptors.add(new ColumnFamilyDescriptor(Bytes.utf8(e.getValue()), cfOptions));
      }
      descriptors.add(new ColumnFamilyDescriptor(Bytes.utf8(APPLIED), cfOptions));
      db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
      for (int i = 0; i < columns.size(); i++) {
        byColumn.put(columns.get(i), handles.get(i + 1));
      }
      applied = handles.get(handles.size() - 1);
      writeOptions = new WriteOptions().setSync(syncWrites).setDisableWAL(walless);
    } catch (RocksDBException | java.io.IOException e) {
      throw new AnfException(
          ErrorCode.INTERNAL, "cannot open RocksDB at " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return dir;
  }

  private ColumnFamilyHandle family(byte[] key) {
    if (key.length == 0) {
      throw new IllegalArgumentException("empty state key");
    }
    ColumnFamilyHandle h = byColumn.get(key[0]);
    if (h == null) {
      throw new IllegalArgumentException(
          "no column family for state column '" + (char) key[0] + "'");
    }
    return h;
  }

  /** Scope id (8 bytes) + the state key without its column byte. */
  static byte[] physical(long scope, byte[] key) {
    byte[] out = new byte[8 + key.length - 1];
    System.arraycopy(Bytes.longBytes(scope), 0, out, 0, 8);
    System.arraycopy(key, 1, out, 8, key.length - 1);
    return out;
  }

  public byte @Nullable [] get(long scope, byte[] key) {
    try {
      return db.get(family(key), physical(scope, key));
    } catch (RocksDBException e) {
      throw io("read", e);
    }
  }

  /** Visits {@code from <= key < to} of one column (both keys in the same column). */
  public void scan(long scope, byte[] from, byte[] to, KeyValueView.Visitor visitor) {
    scan(scope, from, to, null, visitor);
  }

  private void scan(
      long scope,
      byte[] from,
      byte[] to,
      org.rocksdb.@Nullable Snapshot at,
      KeyValueView.Visitor visitor) {
    if (from.length == 0 || to.length == 0) {
      throw new IllegalArgumentException("scans are per column");
    }
    byte column = from[0];
    ColumnFamilyHandle h = family(from);
    byte[] lo = physical(scope, from);
    // A 'to' in the next column means "to the end of this column".
    byte[] hi = to[0] == column ? physical(scope, to) : Bytes.prefixEnd(Bytes.longBytes(scope));
    try (Slice upper = new Slice(hi);
        ReadOptions ro = readOptions(upper, at);
        RocksIterator it = db.newIterator(h, ro)) {
      for (it.seek(lo); it.isValid(); it.next()) {
        byte[] pk = it.key();
        byte[] key = new byte[pk.length - 8 + 1];
        key[0] = column;
        System.arraycopy(pk, 8, key, 1, pk.length - 8);
        if (!visitor.visit(key, it.value())) {
          return;
        }
      }
      it.status();
    } catch (RocksDBException e) {
      throw io("scan", e);
    }
  }

  private static ReadOptions readOptions(Slice upper, org.rocksdb.@Nullable Snapshot at) {
    ReadOptions ro = new ReadOptions().setIterateUpperBound(upper);
    if (at != null) {
      // A whole-scope read (a snapshot file): sequential, once; keep the block cache for lookups.
      ro.setSnapshot(at).setFillCache(false).setReadaheadSize(2 << 20);
    }
    return ro;
  }

  /** Writes a scope's state delta and its new applied index atomically. */
  public void write(long scope, WriteSet writes, Applied at) {
    try (WriteBatch batch = new WriteBatch()) {
      writes.forEach(
          (k, v) -> {
            try {
              if (v == null) {
                batch.delete(family(k), physical(scope, k));
              } else {
                batch.put(family(k), physical(scope, k), v);
              }
            } catch (RocksDBException e) {
              throw io("batch", e);
            }
          });
      batch.put(applied, Bytes.longBytes(scope), encode(at));
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw io("write", e);
    }
  }

  /** Records only the applied index (an entry that changed nothing). */
  public void setApplied(long scope, Applied at) {
    try {
      db.put(applied, writeOptions, Bytes.longBytes(scope), encode(at));
    } catch (RocksDBException e) {
      throw io("write", e);
    }
  }

  public Applied applied(long scope) {
    try {
      byte[] v = db.get(applied, Bytes.longBytes(scope));
      return decode(v);
    } catch (RocksDBException e) {
      throw io("read", e);
    }
  }

  /** Every scope with state in this store. */
  public List<Long> scopes() {
    List<Long> out = new ArrayList<>();
    try (RocksIterator it = db.newIterator(applied)) {
      for (it.seekToFirst(); it.isValid(); it.next()) {
        out.add(Bytes.toLong(it.key(), 0));
      }
    }
    return out;
  }

  /** Visits every key of a scope, column by column, in key order (the columns in byte order). */
  public void scanScope(long scope, boolean includeLineage, KeyValueView.Visitor visitor) {
    scanScope(scope, includeLineage, null, visitor);
  }

  /**
   * One scope as it stands now, frozen: its applied (term, index) and every key, read through one
   * RocksDB snapshot, so that a long read (a snapshot file) sees one state while writes go on.
   * Close it to let RocksDB drop the versions it pins.
   */
  public ScopeView view(long scope) {
    lockOpen("view");
    try {
      org.rocksdb.Snapshot at = db.getSnapshot();
      boolean ok = false;
      try (ReadOptions ro = new ReadOptions().setSnapshot(at)) {
        ScopeView view =
            new ScopeView(scope, at, decode(db.get(applied, ro, Bytes.longBytes(scope))));
        ok = true;
        return view;
      } catch (RocksDBException e) {
        throw io("read", e);
      } finally {
        if (!ok) {
          db.releaseSnapshot(at);
        }
      }
    } finally {
      life.readLock().unlock();
    }
  }

  /** See {@link #view}. */
  public final class ScopeView implements AutoCloseable {
    private final long scope;
    private final org.rocksdb.Snapshot at;
    private final Applied applied;
    private boolean released;

    private ScopeView(long scope, org.rocksdb.Snapshot at, Applied applied) {
      this.scope = scope;
      this.at = at;
      this.applied = applied;
    }

    public long scope() {
      return scope;
    }

    /** The (term, index) this view's keys reflect. */
    public Applied applied() {
      return applied;
    }

    /** As {@link NodeStore#scanScope}, as of this view. */
    public void scan(boolean includeLineage, KeyValueView.Visitor visitor) {
      if (released) {
        throw new IllegalStateException("view of scope " + scope + " is closed");
      }
      lockOpen("snapshot scan");
      try {
        scanScope(scope, includeLineage, at, visitor);
      } finally {
        life.readLock().unlock();
      }
    }

    @Override
    public void close() {
      if (released) {
        return;
      }
      released = true;
      life.readLock().lock();
      try {
        // A closed RocksDB took its snapshots with it.
        if (!NodeStore.this.closed) {
          db.releaseSnapshot(at);
        }
      } finally {
        life.readLock().unlock();
      }
    }
  }

  private void scanScope(
      long scope,
      boolean includeLineage,
      org.rocksdb.@Nullable Snapshot at,
      KeyValueView.Visitor visitor) {
    List<Byte> columns = new ArrayList<>(FAMILIES.keySet());
    boolean[] go = {true};
    for (byte c : columns) {
      if (!go[0] || (c == StateKeys.LINEAGE && !includeLineage)) {
        continue;
      }
      scan(
          scope,
          new byte[] {c},
          new byte[] {(byte) (c + 1)},
          at,
          (k, v) -> {
            go[0] = visitor.visit(k, v);
            return go[0];
          });
    }
  }

  /** Drops a scope's whole key range (before installing a snapshot, or when its group goes). */
  public void deleteScope(long scope) {
    byte[] lo = Bytes.longBytes(scope);
    byte[] hi = Bytes.prefixEnd(lo);
    try (WriteBatch batch = new WriteBatch()) {
      for (ColumnFamilyHandle h : byColumn.values()) {
        batch.deleteRange(h, lo, hi);
      }
      batch.delete(applied, lo);
      db.write(writeOptions, batch);
    } catch (RocksDBException e) {
      throw io("delete", e);
    }
    persistIfWalless();
  }

  /** Deletes a scope's lineage entries with seq below {@code seq} (history compaction). */
  public void deleteLineageBelow(long scope, long seq) {
    try {
      db.deleteRange(
          family(StateKeys.lineage(0)),
          physical(scope, StateKeys.lineage(0)),
          physical(scope, StateKeys.lineage(seq)));
    } catch (RocksDBException e) {
      throw io("delete", e);
    }
    persistIfWalless();
  }

  /** Writes many keys of one scope at once, with the applied index (snapshot install). */
  public void load(long scope, List<byte[]> keys, List<byte[]> values, Applied at) {
    WriteSet ws = new WriteSet();
    for (int i = 0; i < keys.size(); i++) {
      ws.put(keys.get(i), values.get(i));
    }
    write(scope, ws, at);
    persistIfWalless();
  }

  /**
   * Writes that no Raft entry re-creates on replay (a snapshot install, a compaction) reach disk
   * before they count, as the WAL would have made them.
   */
  private void persistIfWalless() {
    if (walless) {
      flush();
    }
  }

  /** Flushes memtables to SST files, making everything written so far durable on disk. */
  public void flush() {
    lockOpen("flush");
    try (FlushOptions fo = new FlushOptions().setWaitForFlush(true)) {
      db.flush(fo, handles);
    } catch (RocksDBException e) {
      throw io("flush", e);
    } finally {
      life.readLock().unlock();
    }
  }

  /** Takes the shared hold on the open store, or refuses once it is closed. */
  private void lockOpen(String what) {
    life.readLock().lock();
    if (closed) {
      life.readLock().unlock();
      throw new AnfException(
          ErrorCode.UNAVAILABLE, "RocksDB at " + dir + " is closed (" + what + " refused)");
    }
  }

  private static byte[] encode(Applied at) {
    return Bytes.concat(Bytes.longBytes(at.term()), Bytes.longBytes(at.index()));
  }

  private static Applied decode(byte @Nullable [] v) {
    return v == null ? Applied.NONE : new Applied(Bytes.toLong(v, 0), Bytes.toLong(v, 8));
  }

  private static AnfException io(String what, RocksDBException e) {
    return new AnfException(
        ErrorCode.CORRUPTION, "RocksDB " + what + " failed: " + e.getMessage(), e);
  }

  @Override
  public void close() {
    life.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
    } finally {
      life.writeLock().unlock();
    }
    for (ColumnFamilyHandle h : handles) {
      h.close();
    }
    db.close();
    writeOptions.close();
    cfOptions.close();
    dbOptions.close();
  }
}
