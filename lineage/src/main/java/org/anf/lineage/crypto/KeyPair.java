package org.anf.lineage.crypto;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * An Ed25519 key pair: the 32-byte private seed (RFC 8032 section 5.1.5) and the 32-byte public
 * key. {@link #toString} never prints the seed.
 */
public final class KeyPair {
  private final byte[] seed;
  private final byte[] publicKey;

  KeyPair(byte[] seed, byte[] publicKey) {
    this.seed = seed.clone();
    this.publicKey = publicKey.clone();
  }

  public byte[] publicKey() {
    return publicKey.clone();
  }

  byte[] seedUnsafe() {
    return seed;
  }

  public byte[] seed() {
    return seed.clone();
  }

  /** The key in text form, {@code ed25519:<base64url>}. */
  public String publicKeyText() {
    return Ed25519.publicKeyText(publicKey);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof KeyPair k && Arrays.equals(publicKey, k.publicKey);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(publicKey);
  }

  @Override
  public String toString() {
    return "KeyPair(" + publicKeyText() + ")";
  }
}
