package org.anf.lineage.chain;

import java.nio.charset.StandardCharsets;
import org.anf.lineage.crypto.Sha256;
import org.bouncycastle.crypto.digests.SHA256Digest;

/**
 * Writes the canonical encoding straight into a SHA-256: fixed-width big-endian integers, byte
 * strings and UTF-8 strings as u32 length + bytes, lists as u32 count + items. The layout of each
 * hashed structure is documented in docs/LINEAGE.md; it never depends on protobuf's encoder.
 */
public final class CanonicalWriter {
  private final SHA256Digest digest = Sha256.digest();

  public CanonicalWriter(String domainTag) {
    raw(domainTag.getBytes(StandardCharsets.UTF_8));
  }

  public CanonicalWriter u8(int v) {
    digest.update((byte) v);
    return this;
  }

  public CanonicalWriter u32(int v) {
    digest.update((byte) (v >>> 24));
    digest.update((byte) (v >>> 16));
    digest.update((byte) (v >>> 8));
    digest.update((byte) v);
    return this;
  }

  public CanonicalWriter u64(long v) {
    for (int i = 56; i >= 0; i -= 8) {
      digest.update((byte) (v >>> i));
    }
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
    return bytes(b.toByteArray());
  }

  public CanonicalWriter str(String s) {
    return bytes(s.getBytes(StandardCharsets.UTF_8));
  }

  private CanonicalWriter raw(byte[] b) {
    digest.update(b, 0, b.length);
    return this;
  }

  public byte[] finish() {
    return Sha256.finish(digest);
  }
}
