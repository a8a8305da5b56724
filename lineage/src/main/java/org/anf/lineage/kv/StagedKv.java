package org.anf.lineage.kv;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A base view with pending writes on top: reads see the writes, which are collected in a {@link
 * WriteSet} and applied by the caller in one batch. A transition works against one of these, so it
 * never changes the base state unless it succeeds.
 */
public final class StagedKv implements KeyValueView {
  private final KeyValueView base;
  private final WriteSet writes = new WriteSet();

  public StagedKv(KeyValueView base) {
    this.base = base;
  }

  public WriteSet writes() {
    return writes;
  }

  public void put(byte[] key, byte[] value) {
    writes.put(key, value);
  }

  public void delete(byte[] key) {
    writes.delete(key);
  }

  @Override
  public byte @Nullable [] get(byte[] key) {
    if (writes.contains(key)) {
      return writes.valueOf(key);
    }
    return base.get(key);
  }

  @Override
  public void scan(byte[] from, byte[] to, Visitor visitor) {
    // Merge the base range with the overlay range; overlay wins on equal keys.
    List<Map.Entry<byte[], byte[]>> overlay =
        new ArrayList<>(writes.entries().subMap(from, true, to, false).entrySet());
    int[] oi = {0};
    boolean[] stopped = {false};
    base.scan(
        from,
        to,
        (k, v) -> {
          while (oi[0] < overlay.size() && Bytes.compare(overlay.get(oi[0]).getKey(), k) < 0) {
            Map.Entry<byte[], byte[]> o = overlay.get(oi[0]++);
            if (!writes.isDeletion(o.getValue()) && !visitor.visit(o.getKey(), o.getValue())) {
              stopped[0] = true;
              return false;
            }
          }
          if (oi[0] < overlay.size() && Bytes.compare(overlay.get(oi[0]).getKey(), k) == 0) {
            Map.Entry<byte[], byte[]> o = overlay.get(oi[0]++);
            if (writes.isDeletion(o.getValue())) {
              return true;
            }
            if (!visitor.visit(o.getKey(), o.getValue())) {
              stopped[0] = true;
              return false;
            }
            return true;
          }
          if (!visitor.visit(k, v)) {
            stopped[0] = true;
            return false;
          }
          return true;
        });
    if (stopped[0]) {
      return;
    }
    while (oi[0] < overlay.size()) {
      Map.Entry<byte[], byte[]> o = overlay.get(oi[0]++);
      if (!writes.isDeletion(o.getValue()) && !visitor.visit(o.getKey(), o.getValue())) {
        return;
      }
    }
  }
}
