package org.anf.lineage.testing;

import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.crypto.Sha256;
import org.anf.lineage.kv.Bytes;

/** Deterministic keys for tests: the same name gives the same key in every run. */
public final class TestKeys {
  private TestKeys() {}

  public static KeyPair key(String name) {
    return Ed25519.fromSeed(Sha256.hash(Bytes.utf8("anf-test-key:" + name)));
  }
}
