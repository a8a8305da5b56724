package org.anf.dns.gateway;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/**
 * Rendered UDP replies keyed by the query's bytes after its ID, as PowerDNS's packet cache keeps
 * them: a repeated query (same flags, question and EDNS) is answered by copying the reply, writing
 * the new ID in and counting its TTLs down by the whole seconds it has been kept, with no parsing,
 * no handler chain and no rendering.
 *
 * <p>An entry is served only while all of these hold: it is younger than its shortest TTL (a reply
 * with a TTL of 0 is not kept), as any DNS cache downstream would keep it; the resolver's
 * generation is the one it was built under (the resolver moves it when an answer is taken back
 * before its time or a watch stops vouching for what it cached: a Watch event, an eviction, a
 * revocation, a broken or silent stream); and the reply was NOERROR or NXDOMAIN without TC. A reply
 * the resolver marked stale is kept for one second only, so a recovered fabric's fresh answer
 * replaces it at once. Anything else is answered the normal way.
 */
final class PacketCache {
  private static final long SECOND = 1_000_000_000L;

  /** How long a reply built from a stale answer is kept. */
  static final long STALE_NANOS = SECOND;

  static final int MAX_ENTRIES = 65_536;

  /** The query bytes after the ID; a probe compares a range of a packet without copying it. */
  private static class Key {
    final byte[] bytes;
    final int offset;
    final int length;
    final int hash;

    Key(byte[] bytes, int offset, int length) {
      this.bytes = bytes;
      this.offset = offset;
      this.length = length;
      int h = 1;
      for (int i = offset; i < offset + length; i++) {
        h = 31 * h + bytes[i];
      }
      this.hash = h;
    }

    static Key stored(byte[] query) {
      return new Key(Arrays.copyOfRange(query, 2, query.length), 0, query.length - 2);
    }

    static Key probe(byte[] packet, int offset, int length) {
      return new Key(packet, offset + 2, length - 2);
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Key k
          && k.hash == hash
          && Arrays.equals(k.bytes, k.offset, k.offset + k.length, bytes, offset, offset + length);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private static final class Entry {
    final byte[] reply;

    /** Where each TTL field is in {@link #reply} (every record but OPT). */
    final int[] ttlOffsets;

    final long storedNanos;
    final long expiresNanos;
    final long generation;
    final int rcode;

    Entry(
        byte[] reply,
        int[] ttlOffsets,
        long storedNanos,
        long expiresNanos,
        long generation,
        int rcode) {
      this.reply = reply;
      this.ttlOffsets = ttlOffsets;
      this.storedNanos = storedNanos;
      this.expiresNanos = expiresNanos;
      this.generation = generation;
      this.rcode = rcode;
    }
  }

  private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();
  private final LongSupplier generation;

  PacketCache(LongSupplier generation) {
    this.generation = generation;
  }

  /** A reply for the query in {@code packet[offset, offset+length)}, with its ID, or null. */
  @Nullable Hit lookup(byte[] packet, int offset, int length, long nowNanos) {
    if (length < 12) {
      return null;
    }
    Entry e = entries.get(Key.probe(packet, offset, length));
    if (e == null) {
      return null;
    }
    if (nowNanos - e.expiresNanos >= 0 || e.generation != generation.getAsLong()) {
      return null;
    }
    byte[] reply = e.reply.clone();
    reply[0] = packet[offset];
    reply[1] = packet[offset + 1];
    long kept = (nowNanos - e.storedNanos) / SECOND;
    if (kept > 0) {
      // Shorter than every TTL here (the entry would have expired), so none reaches 0.
      for (int at : e.ttlOffsets) {
        long ttl = readTtl(reply, at) - kept;
        writeTtl(reply, at, ttl);
      }
    }
    return new Hit(reply, e.rcode);
  }

  /** A reply to send and its RCODE (for the metrics). */
  static final class Hit {
    private final byte[] reply;
    private final int rcode;

    Hit(byte[] reply, int rcode) {
      this.reply = reply;
      this.rcode = rcode;
    }

    byte[] reply() {
      return reply;
    }

    int rcode() {
      return rcode;
    }
  }

  /**
   * Keeps {@code reply} for {@code query} if it may be served again. {@code generation} is the
   * resolver's generation read before the reply was built, so a change while building it leaves the
   * entry already outdated. {@code stale}: built from an answer the resolver marked stale.
   */
  void store(byte[] query, byte[] reply, long generationBefore, long nowNanos, boolean stale) {
    if (query.length < 12 || reply.length < 12 || (reply[2] & 0x02) != 0) { // TC
      return;
    }
    int rcode = reply[3] & 0x0F;
    if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
      return;
    }
    int[] ttlOffsets = ttlOffsets(reply);
    if (ttlOffsets == null) {
      return;
    }
    long minTtl = Long.MAX_VALUE;
    for (int at : ttlOffsets) {
      minTtl = Math.min(minTtl, readTtl(reply, at));
    }
    if (minTtl <= 0) {
      return;
    }
    long life = minTtl == Long.MAX_VALUE ? SECOND : minTtl * SECOND;
    if (stale) {
      life = Math.min(life, STALE_NANOS);
    }
    if (entries.size() >= MAX_ENTRIES) {
      entries.clear(); // crude, and rare: a working set this large is not served from here
    }
    entries.put(
        Key.stored(query),
        new Entry(reply.clone(), ttlOffsets, nowNanos, nowNanos + life, generationBefore, rcode));
  }

  /**
   * The offset of the TTL of every record but OPT (whose TTL field holds EDNS flags), or null when
   * the reply does not parse as a whole DNS message.
   */
  static int @Nullable [] ttlOffsets(byte[] m) {
    if (m.length < 12) {
      return null;
    }
    int questions = u16(m, 4);
    int records = u16(m, 6) + u16(m, 8) + u16(m, 10);
    int p = 12;
    for (int i = 0; i < questions; i++) {
      p = skipName(m, p);
      if (p < 0 || p + 4 > m.length) {
        return null;
      }
      p += 4;
    }
    int[] out = new int[records];
    int n = 0;
    for (int i = 0; i < records; i++) {
      p = skipName(m, p);
      if (p < 0 || p + 10 > m.length) {
        return null;
      }
      if (u16(m, p) != Type.OPT) {
        out[n++] = p + 4;
      }
      p += 10 + u16(m, p + 8);
      if (p > m.length) {
        return null;
      }
    }
    return p == m.length ? Arrays.copyOf(out, n) : null;
  }

  /** The offset just past the name at {@code p}, or -1 when it runs off the end. */
  private static int skipName(byte[] m, int p) {
    while (p < m.length) {
      int len = m[p] & 0xFF;
      if (len == 0) {
        return p + 1;
      }
      if ((len & 0xC0) == 0xC0) {
        return p + 2 <= m.length ? p + 2 : -1; // a pointer ends the name
      }
      if ((len & 0xC0) != 0) {
        return -1;
      }
      p += 1 + len;
    }
    return -1;
  }

  private static int u16(byte[] m, int p) {
    return ((m[p] & 0xFF) << 8) | (m[p + 1] & 0xFF);
  }

  private static long readTtl(byte[] m, int p) {
    return ((long) (m[p] & 0xFF) << 24)
        | ((m[p + 1] & 0xFF) << 16)
        | ((m[p + 2] & 0xFF) << 8)
        | (m[p + 3] & 0xFF);
  }

  private static void writeTtl(byte[] m, int p, long ttl) {
    m[p] = (byte) (ttl >>> 24);
    m[p + 1] = (byte) (ttl >>> 16);
    m[p + 2] = (byte) (ttl >>> 8);
    m[p + 3] = (byte) ttl;
  }

  long generation() {
    return generation.getAsLong();
  }

  int size() {
    return entries.size();
  }
}
