package org.anf.lineage.crypto;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.junit.jupiter.api.Test;

class Sha256Test {
  @Test
  void knownVectorAndBufferMatchesAReferenceImplementation() {
    assertThat(HexFormat.of().formatHex(Sha256.hash("abc".getBytes(StandardCharsets.US_ASCII))))
        .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Random r = new Random(7);
    for (int i = 0; i < 200; i++) {
      Sha256.Buffer b = new Sha256.Buffer();
      SHA256Digest ref = new SHA256Digest();
      for (int j = r.nextInt(20); j > 0; j--) {
        byte[] chunk = new byte[r.nextInt(300)];
        r.nextBytes(chunk);
        int v = r.nextInt();
        long w = r.nextLong();
        b.raw(chunk).u32(v).u64(w).u8(v);
        ref.update(chunk, 0, chunk.length);
        for (int s = 24; s >= 0; s -= 8) {
          ref.update((byte) (v >>> s));
        }
        for (int s = 56; s >= 0; s -= 8) {
          ref.update((byte) (w >>> s));
        }
        ref.update((byte) v);
      }
      byte[] expected = new byte[32];
      ref.doFinal(expected, 0);
      assertThat(b.finish()).isEqualTo(expected);
    }
  }
}
