package org.anf.lineage.kv;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory key-value state: a hash index for point reads, which are most of what transitions
 * and lookups do, and a sorted map for range scans. The sorted map can be limited to the columns
 * (first key byte) that are range-scanned; keys of other columns live in the index only, and a scan
 * that reaches them (a whole-state digest) sorts them on demand. Not thread-safe: callers serialise
 * access.
 */
public final class MemoryKv implements KeyValueView {
  private final TreeMap<byte[], byte[]> sorted = new TreeMap<>(Bytes::compare);
  private final HashMap<Key, byte[]> index = new HashMap<>();
  private final boolean[] sortedColumn = new boolean[256];
  private int unsortedCount;

  /** Every key sorted. */
  public MemoryKv() {
    Arrays.fill(sortedColumn, true);
  }

  /** Keys sorted only in the given columns (first key byte); others are read by key. */
  public static MemoryKv sortedOnly(byte... columns) {
    MemoryKv kv = new MemoryKv();
    Arrays.fill(kv.sortedColumn, false);
    for (byte c : columns) {
      kv.sortedColumn[c & 0xff] = true;
    }
    return kv;
  }

  /** A byte[] with value equality, for the hash index. */
  private static final class Key {
    private final byte[] bytes;
    private final int hash;

    Key(byte[] bytes) {
      this.bytes = bytes;
      this.hash = hash(bytes);
    }

    // FNV-1a over 64 bits, folded: Arrays.hashCode's base 31 makes big-endian counters collide
    // (00 1f and 01 00 hash alike), which turns the index's buckets into trees.
    private static int hash(byte[] b) {
      long h = 0xcbf29ce484222325L;
      for (byte x : b) {
        h = (h ^ (x & 0xff)) * 0x100000001b3L;
      }
      return (int) (h ^ (h >>> 32));
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Key k && k.hash == hash && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private boolean isSorted(byte[] key) {
    return key.length == 0 || sortedColumn[key[0] & 0xff];
  }

  @Override
  public byte @Nullable [] get(byte[] key) {
    return index.get(new Key(key));
  }

  @Override
  public void scan(byte[] from, byte[] to, Visitor visitor) {
    Iterable<Map.Entry<byte[], byte[]>> inOrder = sorted.subMap(from, true, to, false).entrySet();
    if (unsortedCount == 0 || !reachesUnsorted(from, to)) {
      for (Map.Entry<byte[], byte[]> e : inOrder) {
        if (!visitor.visit(e.getKey(), e.getValue())) {
          return;
        }
      }
      return;
    }
    List<byte[]> extra = new ArrayList<>();
    for (Key k : index.keySet()) {
      byte[] b = k.bytes;
      if (!isSorted(b) && Bytes.compare(b, from) >= 0 && Bytes.compare(b, to) < 0) {
        extra.add(b);
      }
    }
    extra.sort(Bytes::compare);
    int i = 0;
    for (Map.Entry<byte[], byte[]> e : inOrder) {
      for (; i < extra.size() && Bytes.compare(extra.get(i), e.getKey()) < 0; i++) {
        if (!visitExtra(extra.get(i), visitor)) {
          return;
        }
      }
      if (!visitor.visit(e.getKey(), e.getValue())) {
        return;
      }
    }
    for (; i < extra.size(); i++) {
      if (!visitExtra(extra.get(i), visitor)) {
        return;
      }
    }
  }

  private boolean visitExtra(byte[] key, Visitor visitor) {
    byte[] v = index.get(new Key(key));
    return v == null || visitor.visit(key, v);
  }

  /** Whether [from, to) can hold a key of an unsorted column. */
  private boolean reachesUnsorted(byte[] from, byte[] to) {
    int lo = from.length == 0 ? 0 : from[0] & 0xff;
    // A bound of one byte [c] ends before every key of column c.
    int hi = to.length == 0 ? -1 : (to[0] & 0xff) - (to.length == 1 ? 1 : 0);
    for (int c = lo; c <= hi && c < 256; c++) {
      if (!sortedColumn[c]) {
        return true;
      }
    }
    return false;
  }

  public void apply(WriteSet writes) {
    writes.forEach(
        (k, v) -> {
          if (v == null) {
            remove(k);
          } else {
            put(k, v);
          }
        });
  }

  public void put(byte[] key, byte[] value) {
    byte[] old = index.put(new Key(key), value);
    if (isSorted(key)) {
      sorted.put(key, value);
    } else if (old == null) {
      unsortedCount++;
    }
  }

  public void remove(byte[] key) {
    byte[] old = index.remove(new Key(key));
    if (isSorted(key)) {
      sorted.remove(key);
    } else if (old != null) {
      unsortedCount--;
    }
  }

  public void clear() {
    sorted.clear();
    index.clear();
    unsortedCount = 0;
  }

  public int size() {
    return index.size();
  }

  public MemoryKv copy() {
    MemoryKv c = new MemoryKv();
    System.arraycopy(sortedColumn, 0, c.sortedColumn, 0, sortedColumn.length);
    c.sorted.putAll(sorted);
    c.index.putAll(index);
    c.unsortedCount = unsortedCount;
    return c;
  }
}
