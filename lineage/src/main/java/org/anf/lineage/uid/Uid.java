package org.anf.lineage.uid;

import java.util.HexFormat;
import org.anf.lineage.error.AnfException;

/**
 * A 128-bit UID: a 64-bit origin scope id (the scope whose register allocated it), a 16-bit space
 * tag (0 for the canonical space, non-zero for the sub-space of an isolated quorum) and a 48-bit
 * counter. Globally unique without coordination between scopes: scope ids are derived from each
 * scope's genesis, and each (scope, tag) counter only grows.
 *
 * <p>Text form: {@code uid:} + 16 hex digits (scope) + {@code -} + 4 (tag) + {@code -} + 12
 * (counter), lower case, for example {@code uid:9f86d081884c7d65-0000-000000000001}.
 */
public record Uid(long hi, long lo) implements Comparable<Uid> {
  public static final String PREFIX = "uid:";
  public static final long MAX_COUNTER = (1L << 48) - 1;
  public static final int CANONICAL_TAG = 0;
  public static final int MAX_TAG = 0xffff;
  private static final int TEXT_LENGTH = PREFIX.length() + 16 + 1 + 4 + 1 + 12;

  public static Uid of(long scopeId, int tag, long counter) {
    if (tag < 0 || tag > 0xffff) {
      throw new IllegalArgumentException("tag " + tag + " outside 0..65535");
    }
    if (counter <= 0 || counter > MAX_COUNTER) {
      throw new IllegalArgumentException("counter " + counter + " outside 1..2^48-1");
    }
    return new Uid(scopeId, ((long) tag << 48) | counter);
  }

  public long scopeId() {
    return hi;
  }

  public int tag() {
    return (int) (lo >>> 48);
  }

  public long counter() {
    return lo & MAX_COUNTER;
  }

  public boolean isProvisional() {
    return tag() != CANONICAL_TAG;
  }

  public String text() {
    return PREFIX
        + String.format("%016x", hi)
        + "-"
        + String.format("%04x", tag())
        + "-"
        + String.format("%012x", counter());
  }

  @Override
  public String toString() {
    return text();
  }

  public static boolean looksLikeUid(String s) {
    return s.regionMatches(true, 0, PREFIX, 0, PREFIX.length());
  }

  /** Parses the text form; the error names the offending position. */
  public static Uid parse(String s) {
    if (!looksLikeUid(s)) {
      throw AnfException.syntax(s, 0, "expected 'uid:'");
    }
    if (s.length() != TEXT_LENGTH) {
      throw AnfException.syntax(
          s,
          Math.min(s.length(), TEXT_LENGTH),
          "a UID is 'uid:' + 16 hex + '-' + 4 hex + '-' + 12 hex (" + TEXT_LENGTH + " characters)");
    }
    int p = PREFIX.length();
    long hi = hex(s, p, 16);
    expectDash(s, p + 16);
    long tag = hex(s, p + 17, 4);
    expectDash(s, p + 21);
    long counter = hex(s, p + 22, 12);
    if (counter == 0) {
      throw AnfException.syntax(s, p + 22, "the counter of a UID starts at 1");
    }
    return new Uid(hi, (tag << 48) | counter);
  }

  public byte[] toBytes() {
    byte[] b = new byte[16];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (hi >>> (56 - 8 * i));
      b[8 + i] = (byte) (lo >>> (56 - 8 * i));
    }
    return b;
  }

  public static Uid fromBytes(byte[] b) {
    if (b.length != 16) {
      throw new IllegalArgumentException("a UID is 16 bytes, got " + b.length);
    }
    long hi = 0;
    long lo = 0;
    for (int i = 0; i < 8; i++) {
      hi = (hi << 8) | (b[i] & 0xff);
      lo = (lo << 8) | (b[8 + i] & 0xff);
    }
    return new Uid(hi, lo);
  }

  public org.anf.proto.v1.Uid toProto() {
    return org.anf.proto.v1.Uid.newBuilder().setHi(hi).setLo(lo).build();
  }

  public static Uid fromProto(org.anf.proto.v1.Uid p) {
    return new Uid(p.getHi(), p.getLo());
  }

  @Override
  public int compareTo(Uid o) {
    int c = Long.compareUnsigned(hi, o.hi);
    return c != 0 ? c : Long.compareUnsigned(lo, o.lo);
  }

  private static long hex(String s, int from, int n) {
    for (int i = from; i < from + n; i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
        throw AnfException.syntax(s, i, "expected a hex digit, found '" + c + "'");
      }
    }
    return HexFormat.fromHexDigitsToLong(s, from, from + n);
  }

  private static void expectDash(String s, int i) {
    if (s.charAt(i) != '-') {
      throw AnfException.syntax(s, i, "expected '-'");
    }
  }
}
