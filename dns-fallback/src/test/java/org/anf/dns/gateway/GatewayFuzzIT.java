package org.anf.dns.gateway;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.anf.dns.handler.HandlerChain;
import org.anf.dns.handler.Transport;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.Ports;
import org.anf.dns.testing.TestFabric;
import org.anf.proto.v1.Endpoint;
import org.anf.resolver.ResolveOptions;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Random and mutated packets against the gateway, over UDP and TCP and straight into the query
 * processor. The properties: nothing crashes or stops the server; a packet with a header and QR
 * clear always gets a reply with its ID; one that dnsjava cannot parse gets FORMERR; a parsed one
 * with an opcode other than QUERY gets NOTIMP; nothing gets SERVFAIL (the fabric behind is healthy,
 * so SERVFAIL would be a gateway bug); and a good query is answered afterwards.
 *
 * <p>The seed is printed; rerun one with {@code -Danf.seed=N}.
 */
class GatewayFuzzIT {
  /** Multiplies the packet counts for longer hunts: {@code -Danf.fuzz.scale=20}. */
  static final int SCALE = Integer.getInteger("anf.fuzz.scale", 1);

  static final int UDP_PACKETS = 10_000 * SCALE;
  static final int TCP_PACKETS = 10_000 * SCALE;
  static final int IN_PROCESS_PACKETS = 50_000 * SCALE;
  static final int TCP_JUNK_CONNECTIONS = 200 * SCALE;

  static final long SEED = Long.getLong("anf.seed", new Random().nextLong());
  static final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  static TestFabric f;
  static DnsGateway gateway;
  static List<byte[]> corpus;

  @BeforeAll
  static void start() throws IOException {
    System.out.println("GatewayFuzzIT seed = " + SEED + " (rerun with -Danf.seed=" + SEED + ")");
    f = new TestFabric(SEED);
    f.bind(
        f.svc, "svc@demo/hello", ep("192.0.2.10", 8080), ep("2001:db8::1", 53), ep("h.example", 1));
    List<Endpoint> many = new ArrayList<>();
    for (int i = 1; i <= 60; i++) {
      many.add(ep("10.2.0." + i, 0));
    }
    f.bind(f.svc, "svc@big", many.toArray(new Endpoint[0]));
    f.bind(f.svc, "svc@old", ep("192.0.2.30", 80));
    f.rename(f.svc, "svc@old", "svc@new");
    gateway =
        DnsGateway.start(
            GatewayConfig.DEFAULT.withListen("127.0.0.1", 0), f.resolver, null, registry);
    corpus = corpus();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static List<byte[]> corpus() {
    List<byte[]> out = new ArrayList<>();
    String[] names = {
      "hello.demo.svc.anf.",
      "big.svc.anf.",
      "old.svc.anf.",
      "nothing.svc.anf.",
      "anf.",
      "svc.anf.",
      "*.svc.anf.",
      "example.org.",
      "a.b.c.d.e.f.g.h.anf."
    };
    int[] types = {Type.A, Type.AAAA, Type.TXT, Type.SRV, Type.MX, Type.ANY, Type.SOA, Type.AXFR};
    for (String n : names) {
      for (int t : types) {
        out.add(DnsClient.query(n, t).toWire());
        Message edns = DnsClient.query(n, t);
        edns.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
        out.add(edns.toWire());
      }
    }
    out.add(DnsClient.query("hello.demo.svc.anf.", Type.TXT, DClass.CH).toWire());
    return out;
  }

  // -- mutation --

  static byte[] packet(Random r) {
    byte[] p = corpus.get(r.nextInt(corpus.size())).clone();
    if (r.nextInt(20) == 0) {
      return p; // a valid query now and then
    }
    int rounds = 1 + r.nextInt(3);
    for (int i = 0; i < rounds; i++) {
      p = mutate(p, r);
    }
    return p;
  }

  static byte[] mutate(byte[] p, Random r) {
    switch (r.nextInt(10)) {
      case 0 -> {
        byte[] q = p.clone();
        int flips = 1 + r.nextInt(8);
        for (int i = 0; i < flips && q.length > 0; i++) {
          q[r.nextInt(q.length)] ^= (byte) (1 << r.nextInt(8));
        }
        return q;
      }
      case 1 -> {
        return Arrays.copyOf(p, r.nextInt(p.length + 1));
      }
      case 2 -> {
        byte[] q = new byte[r.nextInt(600)];
        r.nextBytes(q);
        return q;
      }
      case 3 -> {
        byte[] q = p.clone();
        if (q.length >= 12) {
          int at = 4 + 2 * r.nextInt(4);
          int v = r.nextBoolean() ? r.nextInt(0x10000) : r.nextInt(4);
          q[at] = (byte) (v >>> 8);
          q[at + 1] = (byte) v;
        }
        return q;
      }
      case 4 -> {
        // A compression pointer at a label: to itself, forward, or past the end.
        byte[] q = p.clone();
        if (q.length >= 14) {
          int at = 12 + r.nextInt(q.length - 13);
          int target =
              switch (r.nextInt(3)) {
                case 0 -> at;
                case 1 -> at + 1 + r.nextInt(40);
                default -> r.nextInt(0x4000);
              };
          q[at] = (byte) (0xC0 | ((target >>> 8) & 0x3F));
          q[at + 1] = (byte) target;
        }
        return q;
      }
      case 5 -> {
        byte[] q = Arrays.copyOf(p, p.length + 1 + r.nextInt(50));
        for (int i = p.length; i < q.length; i++) {
          q[i] = (byte) r.nextInt(256);
        }
        return q;
      }
      case 6 -> {
        byte[] q = p.clone();
        if (q.length >= 4) {
          q[2] = (byte) r.nextInt(256);
          q[3] = (byte) r.nextInt(256);
        }
        return q;
      }
      case 7 -> {
        byte[] q = p.clone();
        if (q.length > 12) {
          q[12 + r.nextInt(Math.min(q.length - 12, 30))] = (byte) r.nextInt(256);
        }
        return q;
      }
      case 8 -> {
        // Repeat a slice: duplicated records or labels.
        if (p.length < 13) {
          return p;
        }
        int from = 12 + r.nextInt(p.length - 12);
        int len = 1 + r.nextInt(p.length - from);
        byte[] q = Arrays.copyOf(p, p.length + len);
        System.arraycopy(p, from, q, p.length, len);
        return q;
      }
      default -> {
        byte[] q = p.clone();
        if (q.length >= 3) {
          q[2] |= (byte) 0x80; // QR: a response, to be dropped
        }
        return q;
      }
    }
  }

  // -- the oracle --

  static boolean expectsReply(byte[] p) {
    return p.length >= 12 && (p[2] & 0x80) == 0;
  }

  static void check(byte[] packet, byte @Nullable [] reply, String where) {
    String ctx = where + ", seed " + SEED + ", packet " + HexFormat.of().formatHex(packet);
    if (!expectsReply(packet)) {
      assertThat(reply).as("no reply expected: %s", ctx).isNull();
      return;
    }
    assertThat(reply).as("a reply: %s", ctx).isNotNull();
    Message m;
    try {
      m = new Message(reply);
    } catch (IOException e) {
      throw new AssertionError("the reply does not parse: " + ctx, e);
    }
    int id = ((packet[0] & 0xFF) << 8) | (packet[1] & 0xFF);
    assertThat(m.getHeader().getID()).as("reply ID: %s", ctx).isEqualTo(id);
    assertThat(m.getHeader().getFlag(Flags.QR)).as(ctx).isTrue();
    assertThat(m.getRcode()).as("never SERVFAIL: %s\n%s", ctx, m).isNotEqualTo(Rcode.SERVFAIL);
    Message parsed = dnsjavaParse(packet);
    if (parsed == null) {
      assertThat(m.getRcode()).as("unparseable is FORMERR: %s", ctx).isEqualTo(Rcode.FORMERR);
    } else if (parsed.getHeader().getOpcode() != Opcode.QUERY) {
      // dnsjava reads what it can of a message with TC set; only a whole one is NOTIMP.
      int expected = whole(parsed, packet) ? Rcode.NOTIMP : Rcode.FORMERR;
      assertThat(m.getRcode()).as("other opcodes: %s", ctx).isEqualTo(expected);
    }
  }

  /** Every record the header counts was read, and nothing follows the message. */
  static boolean whole(Message m, byte[] packet) {
    for (int s = Section.QUESTION; s <= Section.ADDITIONAL; s++) {
      if (m.getSection(s).size() != m.getHeader().getCount(s)) {
        return false;
      }
    }
    return m.numBytes() == packet.length;
  }

  static @Nullable Message dnsjavaParse(byte[] p) {
    try {
      return new Message(p);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  // -- the runs --

  @Test
  void inProcess() {
    Random r = new Random(SEED);
    QueryProcessor p =
        new QueryProcessor(
            HandlerChain.standard(
                GatewayConfig.DEFAULT.anfZone(), f.resolver, ResolveOptions.DEFAULT, null),
            4096,
            new GatewayMetrics(new SimpleMeterRegistry()));
    for (int i = 0; i < IN_PROCESS_PACKETS; i++) {
      byte[] packet = packet(r);
      Transport t = r.nextBoolean() ? Transport.UDP : Transport.TCP;
      check(packet, p.process(packet, t), "in-process #" + i + " " + t);
    }
  }

  @Test
  void overUdp() throws IOException {
    Random r = new Random(SEED + 1);
    try (DatagramSocket s = new DatagramSocket()) {
      s.connect(new InetSocketAddress(Ports.LOOPBACK, gateway.port()));
      s.setSoTimeout(2_000);
      byte[] buf = new byte[0xFFFF];
      for (int i = 0; i < UDP_PACKETS; i++) {
        byte[] packet = packet(r);
        s.send(new DatagramPacket(packet, packet.length));
        byte[] reply = null;
        if (expectsReply(packet)) {
          DatagramPacket in = new DatagramPacket(buf, buf.length);
          try {
            s.receive(in);
            reply = Arrays.copyOf(buf, in.getLength());
          } catch (SocketTimeoutException e) {
            // reply stays null: check() reports it
          }
        }
        check(packet, reply, "UDP #" + i);
      }
      // Nothing may answer the packets that were to be dropped.
      s.setSoTimeout(300);
      assertThat(receiveOrNull(s, buf)).as("a stray UDP reply, seed %s", SEED).isNull();
    }
    assertStillAnswering();
  }

  @Test
  void overTcp() throws IOException {
    Random r = new Random(SEED + 2);
    try (Socket s = new DnsClient(gateway.port()).connect(Duration.ofSeconds(5))) {
      for (int i = 0; i < TCP_PACKETS; i++) {
        byte[] packet = packet(r);
        DnsClient.writeFramed(s, packet);
        byte[] reply = expectsReply(packet) ? DnsClient.readFramed(s) : null;
        check(packet, reply, "TCP #" + i);
      }
    }
    assertStillAnswering();
  }

  @Test
  void junkTcpStreams() throws IOException {
    Random r = new Random(SEED + 3);
    DnsClient dns = new DnsClient(gateway.port());
    for (int i = 0; i < TCP_JUNK_CONNECTIONS; i++) {
      try (Socket s = dns.connect(Duration.ofSeconds(5))) {
        byte[] junk = new byte[r.nextInt(300)];
        r.nextBytes(junk);
        OutputStream out = s.getOutputStream();
        out.write(junk);
        out.flush();
        // Closed without reading: the gateway's writes may fail, which it must shrug off.
      }
    }
    assertStillAnswering();
  }

  static byte @Nullable [] receiveOrNull(DatagramSocket s, byte[] buf) throws IOException {
    DatagramPacket in = new DatagramPacket(buf, buf.length);
    try {
      s.receive(in);
      return Arrays.copyOf(buf, in.getLength());
    } catch (SocketTimeoutException e) {
      return null;
    }
  }

  static void assertStillAnswering() throws IOException {
    DnsClient dns = new DnsClient(gateway.port());
    assertThat(GatewayIT.addresses(dns.udp("hello.demo.svc.anf.", Type.A), Section.ANSWER))
        .containsExactly("192.0.2.10");
    assertThat(GatewayIT.addresses(dns.tcp("big.svc.anf.", Type.A), Section.ANSWER)).hasSize(60);
    Counter servfail = registry.find("anf_dns_queries").tag("rcode", "SERVFAIL").counter();
    assertThat(servfail == null ? 0 : servfail.count())
        .as("SERVFAIL replies, seed %s", SEED)
        .isZero();
  }
}
