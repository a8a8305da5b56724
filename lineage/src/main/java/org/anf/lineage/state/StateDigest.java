package org.anf.lineage.state;

import org.anf.lineage.chain.CanonicalWriter;
import org.anf.lineage.kv.KeyValueView;

/**
 * SHA-256 over a scope's state in key order: the tag "anf.v1.state\n", then each key and value as
 * u32 length + bytes. Lineage entries themselves (column L) are left out so that an anchor may
 * compact old history without changing its digest; the lineage head (column N) is in, and it
 * commits to the whole chain. Replicas that applied the same lineage have the same digest.
 */
public final class StateDigest {
  private static final byte[] ALL_FROM = new byte[0];
  private static final byte[] ALL_TO = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff};

  private StateDigest() {}

  public static byte[] of(KeyValueView kv) {
    CanonicalWriter w = new CanonicalWriter("anf.v1.state\n");
    kv.scan(
        ALL_FROM,
        ALL_TO,
        (k, v) -> {
          if (k.length == 0 || k[0] != StateKeys.LINEAGE) {
            w.bytes(k).bytes(v);
          }
          return true;
        });
    return w.finish();
  }
}
