package org.anf.lineage.state;

import org.anf.lineage.alias.Alias;
import org.anf.lineage.chain.CanonicalWriter;
import org.anf.lineage.kv.Bytes;

/**
 * Scope ids: the first 8 bytes of SHA-256 over the tag "anf.v1.scope\n", the parent's id (u64), the
 * scope's alias text and the creation nonce. Deterministic, so every anchor (and the client that
 * signs the genesis) derives the same id; the nonce makes a path created twice (after a merge, say)
 * a different scope, so its UIDs never collide with the old one's.
 */
public final class ScopeIds {
  private ScopeIds() {}

  public static long derive(long parentScopeId, Alias path, byte[] nonce) {
    byte[] h =
        new CanonicalWriter("anf.v1.scope\n")
            .u64(parentScopeId)
            .str(path.text())
            .bytes(nonce)
            .finish();
    long id = Bytes.toLong(h, 0);
    // 0 means "the root" on the wire; a hash landing on it (odds 2^-64) is moved off it.
    return id == 0 ? 1 : id;
  }

  public static String text(long scopeId) {
    return String.format("%016x", scopeId);
  }

  /** Parses 16 hex digits (as {@link #text} prints), with an error naming the input. */
  public static long parse(String text) {
    String t = text.trim();
    if (t.length() != 16 || !t.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
      throw org.anf.lineage.error.AnfException.invalid(
          "scope id", "a scope id is 16 hex digits, got '" + text + "'");
    }
    return java.lang.Long.parseUnsignedLong(t, 16);
  }
}
