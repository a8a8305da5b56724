package org.anf.lineage.kv;

import java.util.Collections;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import org.anf.lineage.crypto.Sha256;
import org.jspecify.annotations.Nullable;

/**
 * The keys a transition writes and deletes, ordered by key. Applied atomically (one RocksDB
 * WriteBatch in the anchor node). A null value is a deletion.
 */
public final class WriteSet {
  private static final byte[] DOMAIN = Bytes.utf8("anf.v1.delta\n");
  private static final byte[] TOMBSTONE = new byte[0];

  private final TreeMap<byte[], byte[]> writes = new TreeMap<>(Bytes::compare);

  public void put(byte[] key, byte[] value) {
    writes.put(key, value);
  }

  public void delete(byte[] key) {
    writes.put(key, TOMBSTONE);
  }

  public void putAll(WriteSet other) {
    writes.putAll(other.writes);
  }

  /** Whether {@code key} is written here, and if so its value (null = deleted). */
  public boolean contains(byte[] key) {
    return writes.containsKey(key);
  }

  public byte @Nullable [] valueOf(byte[] key) {
    byte[] v = writes.get(key);
    return v == null || v == TOMBSTONE ? null : v;
  }

  public boolean isDeletion(byte[] value) {
    return value == TOMBSTONE;
  }

  public boolean isEmpty() {
    return writes.isEmpty();
  }

  public int size() {
    return writes.size();
  }

  /** Entries in key order; a deletion's value is an empty array that {@link #isDeletion} flags. */
  public NavigableMap<byte[], byte[]> entries() {
    return Collections.unmodifiableNavigableMap(writes);
  }

  /** Visits writes (value non-null) and deletions (value null) in key order. */
  public void forEach(Sink sink) {
    for (Map.Entry<byte[], byte[]> e : writes.entrySet()) {
      sink.accept(e.getKey(), e.getValue() == TOMBSTONE ? null : e.getValue());
    }
  }

  @FunctionalInterface
  public interface Sink {
    void accept(byte[] key, byte @Nullable [] valueOrNullForDelete);
  }

  /**
   * SHA-256 over the canonical encoding: the tag "anf.v1.delta\n", the count (u32), then per write
   * in key order the key (u32 length + bytes), a flag byte (1 put, 0 delete) and for a put the
   * value (u32 length + bytes).
   */
  public byte[] hash() {
    Sha256.Buffer d = new Sha256.Buffer();
    d.raw(DOMAIN);
    d.u32(writes.size());
    for (Map.Entry<byte[], byte[]> e : writes.entrySet()) {
      d.u32(e.getKey().length);
      d.raw(e.getKey());
      if (e.getValue() == TOMBSTONE) {
        d.u8(0);
      } else {
        d.u8(1);
        d.u32(e.getValue().length);
        d.raw(e.getValue());
      }
    }
    return d.finish();
  }
}
