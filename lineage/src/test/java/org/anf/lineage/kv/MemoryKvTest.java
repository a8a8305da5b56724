package org.anf.lineage.kv;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class MemoryKvTest {
  private static final byte[] COLUMNS = {'B', 'L', 'N', 'O', 'T', 'U', 'X'};

  private static byte[] key(Random r) {
    byte[] k = new byte[1 + r.nextInt(4)];
    r.nextBytes(k);
    k[0] = COLUMNS[r.nextInt(COLUMNS.length)];
    return k;
  }

  private static byte[] bound(Random r) {
    return switch (r.nextInt(4)) {
      case 0 -> new byte[] {COLUMNS[r.nextInt(COLUMNS.length)]};
      case 1 -> new byte[0];
      case 2 -> new byte[] {(byte) 0xff, (byte) 0xff};
      default -> key(r);
    };
  }

  private static List<String> scan(MemoryKv kv, byte[] from, byte[] to, int limit) {
    List<String> out = new ArrayList<>();
    kv.scan(
        from,
        to,
        (k, v) -> {
          out.add(java.util.HexFormat.of().formatHex(k) + "=" + v[0]);
          return out.size() < limit;
        });
    return out;
  }

  /** Sorting only some columns changes nothing a caller can see, scans included. */
  @Test
  void partlySortedAnswersLikeFullySorted() {
    long seed = 20261125L;
    System.out.println("MemoryKvTest seed " + seed);
    Random r = new Random(seed);
    MemoryKv full = new MemoryKv();
    MemoryKv part = MemoryKv.sortedOnly((byte) 'B', (byte) 'T', (byte) 'L');
    for (int op = 0; op < 20_000; op++) {
      byte[] k = key(r);
      if (r.nextInt(4) == 0) {
        full.remove(k);
        part.remove(k);
      } else {
        byte[] v = {(byte) r.nextInt(100)};
        full.put(k, v);
        part.put(k, v);
      }
      if (op % 50 == 0) {
        byte[] a = bound(r);
        byte[] b = bound(r);
        byte[] from = Bytes.compare(a, b) <= 0 ? a : b;
        byte[] to = from == a ? b : a;
        int limit = 1 + r.nextInt(40);
        assertThat(scan(part, from, to, limit)).isEqualTo(scan(full, from, to, limit));
        byte[] probe = key(r);
        assertThat(part.get(probe)).isEqualTo(full.get(probe));
        assertThat(part.size()).isEqualTo(full.size());
      }
    }
    byte[] all = {(byte) 0xff, (byte) 0xff};
    assertThat(scan(part.copy(), new byte[0], all, Integer.MAX_VALUE))
        .isEqualTo(scan(full, new byte[0], all, Integer.MAX_VALUE))
        .isNotEmpty();
  }
}
