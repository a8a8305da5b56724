package org.anf.lineage.crypto;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.jspecify.annotations.Nullable;

/**
 * Ed25519 signatures through Bouncy Castle's RFC 8032 implementation, with strict verification.
 *
 * <p>Encodings: public key = 32 raw bytes (RFC 8032 section 5.1.2); signature = 64 raw bytes, R
 * then S; private key = the 32-byte seed. Text form of a public key: {@code ed25519:} + unpadded
 * base64url of the 32 bytes.
 *
 * <p>Verification is strict: S must be canonical (S &lt; L), R and A must be canonical point
 * encodings, and A must be a point of full order (no small-order or mixed-order keys), so one
 * signature has exactly one valid byte form and a key cannot sign for everyone.
 */
public final class Ed25519 {
  public static final int PUBLIC_KEY_BYTES = 32;
  public static final int SIGNATURE_BYTES = 64;
  public static final int SEED_BYTES = 32;
  public static final String TEXT_PREFIX = "ed25519:";

  // Decoded, validated public points: decoding dominates verification of repeated keys.
  private static final int CACHE_SIZE = 4096;
  private static final Map<PkKey, org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint> POINTS =
      Collections.synchronizedMap(
          new LinkedHashMap<>(256, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(
                Map.Entry<PkKey, org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint> e) {
              return size() > CACHE_SIZE;
            }
          });

  private Ed25519() {}

  public static KeyPair generate(SecureRandom random) {
    byte[] seed = new byte[SEED_BYTES];
    random.nextBytes(seed);
    return fromSeed(seed);
  }

  public static KeyPair fromSeed(byte[] seed) {
    if (seed.length != SEED_BYTES) {
      throw AnfException.invalid("seed", "an Ed25519 seed is 32 bytes, got " + seed.length);
    }
    byte[] pk = new byte[PUBLIC_KEY_BYTES];
    org.bouncycastle.math.ec.rfc8032.Ed25519.generatePublicKey(seed, 0, pk, 0);
    return new KeyPair(seed, pk);
  }

  public static byte[] sign(KeyPair key, byte[] message) {
    byte[] sig = new byte[SIGNATURE_BYTES];
    org.bouncycastle.math.ec.rfc8032.Ed25519.sign(
        key.seedUnsafe(), 0, key.publicKey(), 0, message, 0, message.length, sig, 0);
    return sig;
  }

  /** True when the public key is a canonical encoding of a point of full order. */
  public static boolean isValidPublicKey(byte[] publicKey) {
    return publicKey.length == PUBLIC_KEY_BYTES && point(publicKey) != null;
  }

  /**
   * Verifies strictly; a malformed key or signature gives false, never an exception.
   *
   * @return whether {@code signature} is {@code publicKey}'s signature of {@code message}
   */
  public static boolean verify(byte[] publicKey, byte[] message, byte[] signature) {
    if (publicKey.length != PUBLIC_KEY_BYTES || signature.length != SIGNATURE_BYTES) {
      return false;
    }
    org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint p = point(publicKey);
    if (p == null) {
      return false;
    }
    // BC checks R's encoding and S < L before the group equation.
    return org.bouncycastle.math.ec.rfc8032.Ed25519.verify(
        signature, 0, p, message, 0, message.length);
  }

  private static org.bouncycastle.math.ec.rfc8032.Ed25519.@Nullable PublicPoint point(
      byte[] publicKey) {
    PkKey k = new PkKey(publicKey.clone());
    org.bouncycastle.math.ec.rfc8032.Ed25519.PublicPoint p = POINTS.get(k);
    if (p == null) {
      p = org.bouncycastle.math.ec.rfc8032.Ed25519.validatePublicKeyFullExport(publicKey, 0);
      if (p == null) {
        return null;
      }
      POINTS.put(k, p);
    }
    return p;
  }

  public static String publicKeyText(byte[] publicKey) {
    return TEXT_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(publicKey);
  }

  /** Parses {@code ed25519:<base64url>} (padding optional) into 32 raw bytes of a valid key. */
  public static byte[] parsePublicKey(String text) {
    String t = text.trim();
    if (!t.startsWith(TEXT_PREFIX)) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "a public key is 'ed25519:<base64url>', got '" + t + "'");
    }
    byte[] pk;
    try {
      pk = Base64.getUrlDecoder().decode(t.substring(TEXT_PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "public key '" + t + "' is not base64url: " + e.getMessage());
    }
    if (!isValidPublicKey(pk)) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT,
          "public key '" + t + "' is not a valid Ed25519 key (32 bytes, a point of full order)");
    }
    return pk;
  }

  private static final class PkKey {
    private final byte[] bytes;

    PkKey(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof PkKey k && java.util.Arrays.equals(bytes, k.bytes);
    }

    @Override
    public int hashCode() {
      return java.util.Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return publicKeyText(bytes);
    }
  }
}
