package org.anf.lineage.chain;

import java.nio.charset.StandardCharsets;
import org.anf.lineage.crypto.Sha256;

/**
 * Writes the canonical encoding to be hashed with SHA-256: fixed-width big-endian integers, byte
 * strings and UTF-8 strings as u32 length + bytes, lists as u32 count + items. The layout of each
 * hashed structure is documented in docs/LINEAGE.md; it never depends on protobuf's encoder.
 */
public final class CanonicalWriter {
  private final Sha256.Buffer out = new Sha256.Buffer();

  public CanonicalWriter(String domainTag) {
    raw(domainTag.getBytes(StandardCharsets.UTF_8));
  }

  public CanonicalWriter u8(int v) {
    out.u8(v);
    return this;
  }

  public CanonicalWriter u32(int v) {
    out.u32(v);
    return this;
  }

  public CanonicalWriter u64(long v) {
    out.u64(v);
    return this;
  }

  public CanonicalWriter bool(boolean b) {
    return u8(b ? 1 : 0);
  }

  public CanonicalWriter bytes(byte[] b) {
    u32(b.length);
    return raw(b);
  }

  public CanonicalWriter bytes(com.google.protobuf.ByteString b) {
    u32(b.size());
    out.raw(b);
    return this;
  }

  public CanonicalWriter str(String s) {
    return bytes(s.getBytes(StandardCharsets.UTF_8));
  }

  private CanonicalWriter raw(byte[] b) {
    out.raw(b);
    return this;
  }

  public byte[] finish() {
    return out.finish();
  }
}
