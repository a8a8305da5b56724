package org.anf.dns.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** What a kept reply may be served for, and for how long (time passed in, in nanoseconds). */
class PacketCacheTest {
  static final long SECOND = 1_000_000_000L;
  final AtomicLong generation = new AtomicLong();
  final PacketCache cache = new PacketCache(generation::get);

  static byte[] query(int id) throws Exception {
    Message q =
        Message.newQuery(Record.newRecord(Name.fromString("a.svc.anf."), Type.A, DClass.IN));
    q.getHeader().setID(id);
    return q.toWire();
  }

  static byte[] reply(byte[] query, int rcode, long ttl, boolean tc) throws Exception {
    Message r = new Message(query);
    r.getHeader().setFlag(Flags.QR);
    r.getHeader().setRcode(rcode);
    if (tc) {
      r.getHeader().setFlag(Flags.TC);
    }
    if (rcode == Rcode.NOERROR) {
      r.addRecord(
          new ARecord(
              Name.fromString("a.svc.anf."),
              DClass.IN,
              ttl,
              java.net.InetAddress.getByName("192.0.2.1")),
          Section.ANSWER);
    }
    return r.toWire();
  }

  static long ttl(byte[] reply, int section) throws Exception {
    return new Message(reply).getSection(section).get(0).getTTL();
  }

  @Test
  void servedWithTheNewIdAndItsTtlCountedDownUntilTheTtlRunsOut() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), generation.get(), 0, false);
    byte[] q2 = query(0xBEEF);
    PacketCache.Hit hit =
        java.util.Objects.requireNonNull(cache.lookup(q2, 0, q2.length, SECOND / 2));
    Message m = new Message(hit.reply());
    assertThat(m.getHeader().getID()).isEqualTo(0xBEEF);
    assertThat(m.getSection(Section.ANSWER)).hasSize(1);
    assertThat(ttl(hit.reply(), Section.ANSWER)).isEqualTo(60);
    // Kept 42.9 s: the TTL says 42 s less, as a DNS cache would count it.
    byte[] later =
        java.util.Objects.requireNonNull(
                cache.lookup(q2, 0, q2.length, 42 * SECOND + SECOND * 9 / 10))
            .reply();
    assertThat(ttl(later, Section.ANSWER)).isEqualTo(18);
    assertThat(cache.lookup(q2, 0, q2.length, 60 * SECOND - 1)).isNotNull();
    assertThat(cache.lookup(q2, 0, q2.length, 60 * SECOND)).as("its TTL ran out").isNull();

    // The shortest TTL there is, one second, is kept as long.
    PacketCache shortLived = new PacketCache(generation::get);
    shortLived.store(q, reply(q, Rcode.NOERROR, 1, false), 0, 0, false);
    assertThat(shortLived.lookup(q2, 0, q2.length, SECOND - 1)).isNotNull();
    assertThat(shortLived.lookup(q2, 0, q2.length, SECOND)).isNull();
  }

  @Test
  void aStaleReplyIsKeptForASecondOnly() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 30, false), generation.get(), 0, true);
    assertThat(cache.lookup(q, 0, q.length, SECOND - 1)).isNotNull();
    assertThat(cache.lookup(q, 0, q.length, SECOND)).isNull();
  }

  @Test
  void theNegativeAnswersSoaTtlCountsDownAndOptIsLeftAlone() throws Exception {
    Message qm =
        Message.newQuery(Record.newRecord(Name.fromString("nx.svc.anf."), Type.A, DClass.IN));
    qm.addRecord(
        new org.xbill.DNS.OPTRecord(1232, 0, 0, org.xbill.DNS.ExtendedFlags.DO),
        Section.ADDITIONAL);
    byte[] q = qm.toWire();
    Message r = new Message(q);
    r.getHeader().setFlag(Flags.QR);
    r.getHeader().setRcode(Rcode.NXDOMAIN);
    r.addRecord(
        new org.xbill.DNS.SOARecord(
            Name.fromString("anf."),
            DClass.IN,
            30,
            Name.fromString("ns.anf."),
            Name.fromString("admin.anf."),
            1,
            60,
            60,
            60,
            30),
        Section.AUTHORITY);
    cache.store(q, r.toWire(), 0, 0, false);
    byte[] hit = java.util.Objects.requireNonNull(cache.lookup(q, 0, q.length, 5 * SECOND)).reply();
    Message m = new Message(hit);
    assertThat(m.getSection(Section.AUTHORITY).get(0).getTTL()).isEqualTo(25);
    assertThat(m.getOPT()).isNotNull();
    assertThat(m.getOPT().getFlags() & org.xbill.DNS.ExtendedFlags.DO).isNotZero();
    assertThat(m.getOPT().getPayloadSize()).isEqualTo(1232);
  }

  @Test
  void ttlOffsetsNeedAWholeMessage() throws Exception {
    byte[] q = query(1);
    byte[] r = reply(q, Rcode.NOERROR, 60, false);
    assertThat(PacketCache.ttlOffsets(r)).hasSize(1);
    assertThat(PacketCache.ttlOffsets(java.util.Arrays.copyOf(r, r.length - 1))).isNull();
    assertThat(PacketCache.ttlOffsets(java.util.Arrays.copyOf(r, r.length + 1))).isNull();
    assertThat(PacketCache.ttlOffsets(new byte[11])).isNull();
    byte[] loop = q.clone();
    loop[12] = (byte) 0x40; // a reserved label type
    assertThat(PacketCache.ttlOffsets(loop)).isNull();
    cache.store(q, java.util.Arrays.copyOf(r, r.length - 1), 0, 0, false);
    assertThat(cache.size()).isZero();
  }

  @Test
  void notServedOnceTheGenerationMoved() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), generation.get(), 0, false);
    generation.incrementAndGet();
    assertThat(cache.lookup(q, 0, q.length, 1)).isNull();
    // Built under an older generation than the current one: never served.
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), 0, 0, false);
    assertThat(cache.lookup(q, 0, q.length, 1)).isNull();
  }

  @Test
  void truncatedFailedOrZeroTtlRepliesAreNotKept() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, true), 0, 0, false);
    assertThat(cache.size()).as("TC").isZero();
    cache.store(q, reply(q, Rcode.SERVFAIL, 60, false), 0, 0, false);
    assertThat(cache.size()).as("SERVFAIL").isZero();
    cache.store(q, reply(q, Rcode.NOERROR, 0, false), 0, 0, false);
    assertThat(cache.size()).as("TTL 0").isZero();
    cache.store(q, reply(q, Rcode.NXDOMAIN, 60, false), 0, 0, false);
    assertThat(cache.lookup(q, 0, q.length, 1)).isNotNull();
  }

  @Test
  void anotherQuestionOrFlagsIsAnotherEntry() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), 0, 0, false);
    byte[] noRd = q.clone();
    noRd[2] &= (byte) ~0x01;
    assertThat(cache.lookup(noRd, 0, noRd.length, 1)).isNull();
    assertThat(cache.lookup(q, 0, 11, 1)).as("too short to be a query").isNull();
  }
}
