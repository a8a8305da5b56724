package org.anf.lineage.crypto;

import java.util.Base64;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;

/**
 * The text form of a key file, as {@code anf keygen} writes it:
 *
 * <pre>
 * # anf Ed25519 key: keep this file secret, it signs mutations
 * public ed25519:&lt;base64url of the 32-byte public key&gt;
 * seed ed25519-seed:&lt;base64url of the 32-byte private seed&gt;
 * </pre>
 *
 * Reading and writing the file is the caller's job; this class only formats and parses.
 */
public final class KeyText {
  private static final String SEED_PREFIX = "ed25519-seed:";

  private KeyText() {}

  public static String format(KeyPair key) {
    return "# anf Ed25519 key: keep this file secret, it signs mutations\n"
        + "public "
        + key.publicKeyText()
        + "\n"
        + "seed "
        + SEED_PREFIX
        + Base64.getUrlEncoder().withoutPadding().encodeToString(key.seedUnsafe())
        + "\n";
  }

  /** Parses a key file; the seed must match the public key written beside it. */
  public static KeyPair parse(String text) {
    String publicText = null;
    String seedText = null;
    for (String raw : text.split("\n", -1)) {
      String line = raw.strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.startsWith("public ")) {
        publicText = line.substring("public ".length()).strip();
      } else if (line.startsWith("seed ")) {
        seedText = line.substring("seed ".length()).strip();
      } else {
        throw new AnfException(
            ErrorCode.INVALID_ARGUMENT,
            "key file: unexpected line starting '"
                + line.substring(0, Math.min(12, line.length()))
                + "'");
      }
    }
    if (seedText == null || !seedText.startsWith(SEED_PREFIX)) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "key file: no 'seed ed25519-seed:...' line");
    }
    byte[] seed;
    try {
      seed = Base64.getUrlDecoder().decode(seedText.substring(SEED_PREFIX.length()));
    } catch (IllegalArgumentException e) {
      throw new AnfException(ErrorCode.INVALID_ARGUMENT, "key file: the seed is not base64url");
    }
    KeyPair key = Ed25519.fromSeed(seed);
    if (publicText != null && !publicText.equals(key.publicKeyText())) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "key file: the public key does not match the seed");
    }
    return key;
  }
}
