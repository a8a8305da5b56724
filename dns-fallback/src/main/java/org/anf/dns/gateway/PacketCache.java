package org.anf.dns.gateway;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/**
 * Rendered UDP replies keyed by the query's bytes after its ID, as PowerDNS's packet cache keeps
 * them: a repeated query (same flags, question and EDNS) is answered by copying the reply and
 * writing the new ID in, with no parsing, no handler chain and no rendering.
 *
 * <p>An entry is served only while all of these hold: it is younger than {@link #MAX_AGE_NANOS}
 * (one second; a reply with a TTL of 0 is not kept, and DNS TTLs are whole seconds, so an entry
 * outlives the answer it was built from by less than a second); the resolver's generation is the
 * one it was built under (the resolver moves it when an answer is taken back before its time: a
 * Watch event, an eviction, a revocation); and the reply was NOERROR or NXDOMAIN without TC.
 * Anything else is answered the normal way.
 */
final class PacketCache {
  /** One second: freshness marks and TTLs in the reply are at most this much older. */
  static final long MAX_AGE_NANOS = 1_000_000_000L;

  static final int MAX_ENTRIES = 65_536;

  private static final class Key {
    final byte[] bytes;
    final int hash;

    Key(byte[] bytes) {
      this.bytes = bytes;
      this.hash = Arrays.hashCode(bytes);
    }

    static Key of(byte[] packet, int offset, int length) {
      return new Key(Arrays.copyOfRange(packet, offset + 2, offset + length));
    }

    @Override
    public boolean equals(@Nullable Object o) {
      return o instanceof Key k && k.hash == hash && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return hash;
    }
  }

  private static final class Entry {
    final byte[] reply;
    final long expiresNanos;
    final long generation;
    final int rcode;

    Entry(byte[] reply, long expiresNanos, long generation, int rcode) {
      this.reply = reply;
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
    Entry e = entries.get(Key.of(packet, offset, length));
    if (e == null) {
      return null;
    }
    if (nowNanos - e.expiresNanos >= 0 || e.generation != generation.getAsLong()) {
      return null;
    }
    byte[] reply = e.reply.clone();
    reply[0] = packet[offset];
    reply[1] = packet[offset + 1];
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
   * entry already outdated.
   */
  void store(byte[] query, byte[] reply, long generationBefore, long nowNanos) {
    if (reply.length < 12 || (reply[2] & 0x02) != 0) { // TC
      return;
    }
    int rcode = reply[3] & 0x0F;
    if (rcode != Rcode.NOERROR && rcode != Rcode.NXDOMAIN) {
      return;
    }
    long minTtl = Long.MAX_VALUE;
    try {
      Message m = new Message(reply);
      for (int s = Section.ANSWER; s <= Section.ADDITIONAL; s++) {
        for (Record r : m.getSection(s)) {
          if (r.getType() != org.xbill.DNS.Type.OPT) {
            minTtl = Math.min(minTtl, r.getTTL());
          }
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      return;
    }
    if (minTtl <= 0) {
      return;
    }
    // TTLs are whole seconds: any positive one is at least the one-second bound.
    long life = MAX_AGE_NANOS;
    if (entries.size() >= MAX_ENTRIES) {
      entries.clear(); // crude, and rare: a working set this large is not served from here
    }
    entries.put(
        Key.of(query, 0, query.length),
        new Entry(reply.clone(), nowNanos + life, generationBefore, rcode));
  }

  long generation() {
    return generation.getAsLong();
  }

  int size() {
    return entries.size();
  }
}
