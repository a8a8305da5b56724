package org.anf.lineage.kv;

import org.jspecify.annotations.Nullable;

/**
 * A read view of one scope's key-value state, keys ordered as unsigned bytes. RocksDB backs it in
 * the anchor node, an in-memory map in tests; transitions see nothing else.
 */
public interface KeyValueView {
  byte @Nullable [] get(byte[] key);

  /**
   * Visits the entries with {@code from <= key < to} in key order until the visitor returns false.
   */
  void scan(byte[] from, byte[] to, Visitor visitor);

  @FunctionalInterface
  interface Visitor {
    /** Returns whether to continue. */
    boolean visit(byte[] key, byte[] value);
  }
}
