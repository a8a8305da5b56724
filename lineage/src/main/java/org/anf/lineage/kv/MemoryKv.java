package org.anf.lineage.kv;

import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/** An in-memory, sorted key-value state. Not thread-safe: callers serialise access. */
public final class MemoryKv implements KeyValueView {
  private final TreeMap<byte[], byte[]> map = new TreeMap<>(Bytes::compare);

  @Override
  public byte @Nullable [] get(byte[] key) {
    return map.get(key);
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
            map.remove(k);
          } else {
            map.put(k, v);
          }
        });
  }

  public void put(byte[] key, byte[] value) {
    map.put(key, value);
  }

  public void remove(byte[] key) {
    map.remove(key);
  }

  public void clear() {
    map.clear();
  }

  public int size() {
    return map.size();
  }

  public MemoryKv copy() {
    MemoryKv c = new MemoryKv();
    c.map.putAll(map);
    return c;
  }
}
