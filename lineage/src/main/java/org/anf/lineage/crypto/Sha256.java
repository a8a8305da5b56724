package org.anf.lineage.crypto;

import org.bouncycastle.crypto.digests.SHA256Digest;

/** SHA-256 (Bouncy Castle). */
public final class Sha256 {
  public static final int LENGTH = 32;

  private Sha256() {}

  public static byte[] hash(byte[]... parts) {
    SHA256Digest d = new SHA256Digest();
    for (byte[] p : parts) {
      d.update(p, 0, p.length);
    }
    byte[] out = new byte[LENGTH];
    d.doFinal(out, 0);
    return out;
  }

  /** A running SHA-256 for streaming encoders. */
  public static SHA256Digest digest() {
    return new SHA256Digest();
  }

  public static byte[] finish(SHA256Digest d) {
    byte[] out = new byte[LENGTH];
    d.doFinal(out, 0);
    return out;
  }
}
