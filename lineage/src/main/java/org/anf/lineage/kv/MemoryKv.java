package org.anf.lineage.kv;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * An in-memory, sorted key-value state: a sorted map for scans and a hash index for point reads,
 * which are most of what transitions and lookups do. Not thread-safe: callers serialise access.
 */
public final class MemoryKv implements KeyValueView {
  private final TreeMap<byte[], byte[]> map = new TreeMap<>(Bytes::compare);
  private final HashMap<Key, byte[]> index = new HashMap<>();

  /** A byte[] with value equality, for the hash index. */
  private static final class Key {
    private final byte[] bytes;
    private final int hash;

    Key(byte[] bytes) {
      this.bytes = bytes;
      this.hash = Arrays.hashCode(bytes);
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

  @Override
  public byte @Nullable [] get(byte[] key) {
    return index.get(new Key(key));
  }

  @Override
  public void scan(byte[] from, byte[] to, Visitor visitor) {
    for (Map.Entry<byte[], byte[]> e : map.subMap(from, true, to, false).entrySet()) {
      if (!visitor.visit(e.getKey(), e.getValue())) {
        return;
      }
    }
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
    map.put(key, value);
    index.put(new Key(key), value);
  }

  public void remove(byte[] key) {
    map.remove(key);
    index.remove(new Key(key));
  }

  public void clear() {
    map.clear();
    index.clear();
  }

  public int size() {
    return map.size();
  }

  public MemoryKv copy() {
    MemoryKv c = new MemoryKv();
    c.map.putAll(map);
    c.index.putAll(index);
    return c;
  }
}
