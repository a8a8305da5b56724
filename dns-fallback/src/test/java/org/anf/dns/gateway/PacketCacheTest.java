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

  @Test
  void servedWithTheNewIdWhileYoungerThanASecondAndTheTtl() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), generation.get(), 0);
    byte[] q2 = query(0xBEEF);
    PacketCache.Hit hit =
        java.util.Objects.requireNonNull(cache.lookup(q2, 0, q2.length, SECOND / 2));
    Message m = new Message(hit.reply());
    assertThat(m.getHeader().getID()).isEqualTo(0xBEEF);
    assertThat(m.getSection(Section.ANSWER)).hasSize(1);
    assertThat(cache.lookup(q2, 0, q2.length, SECOND)).as("a second old").isNull();

    // The shortest TTL there is, one second, is kept as long.
    PacketCache shortLived = new PacketCache(generation::get);
    shortLived.store(q, reply(q, Rcode.NOERROR, 1, false), 0, 0);
    assertThat(shortLived.lookup(q2, 0, q2.length, SECOND - 1)).isNotNull();
    assertThat(shortLived.lookup(q2, 0, q2.length, SECOND)).isNull();
  }

  @Test
  void notServedOnceTheGenerationMoved() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), generation.get(), 0);
    generation.incrementAndGet();
    assertThat(cache.lookup(q, 0, q.length, 1)).isNull();
    // Built under an older generation than the current one: never served.
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), 0, 0);
    assertThat(cache.lookup(q, 0, q.length, 1)).isNull();
  }

  @Test
  void truncatedFailedOrZeroTtlRepliesAreNotKept() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, true), 0, 0);
    assertThat(cache.size()).as("TC").isZero();
    cache.store(q, reply(q, Rcode.SERVFAIL, 60, false), 0, 0);
    assertThat(cache.size()).as("SERVFAIL").isZero();
    cache.store(q, reply(q, Rcode.NOERROR, 0, false), 0, 0);
    assertThat(cache.size()).as("TTL 0").isZero();
    cache.store(q, reply(q, Rcode.NXDOMAIN, 60, false), 0, 0);
    assertThat(cache.lookup(q, 0, q.length, 1)).isNotNull();
  }

  @Test
  void anotherQuestionOrFlagsIsAnotherEntry() throws Exception {
    byte[] q = query(1);
    cache.store(q, reply(q, Rcode.NOERROR, 60, false), 0, 0);
    byte[] noRd = q.clone();
    noRd[2] &= (byte) ~0x01;
    assertThat(cache.lookup(noRd, 0, noRd.length, 1)).isNull();
    assertThat(cache.lookup(q, 0, 11, 1)).as("too short to be a query").isNull();
  }
}
