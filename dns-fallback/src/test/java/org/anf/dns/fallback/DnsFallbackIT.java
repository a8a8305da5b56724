package org.anf.dns.fallback;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.anf.dns.gateway.DnsGateway;
import org.anf.dns.gateway.GatewayConfig;
import org.anf.dns.handler.DnsHandler;
import org.anf.dns.handler.DnsWriter;
import org.anf.dns.testing.Await;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.Dnsmasq;
import org.anf.dns.testing.Ports;
import org.anf.resolver.FallbackAnswer;
import org.anf.resolver.FallbackAnswer.Outcome;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ResolverConfig;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/** The fallback against a real dnsmasq on loopback, started and stopped by this test. */
class DnsFallbackIT {
  static Dnsmasq dnsmasq;
  static final AtomicInteger sentinels = new AtomicInteger();
  static final String LONG = "x".repeat(200);

  @BeforeAll
  static void startDnsmasq() throws IOException {
    List<String> config =
        new ArrayList<>(
            List.of(
                "--local-ttl=300",
                "--local=/allowed.test/",
                "--address=/allowed.test/192.0.2.7",
                "--address=/allowed.test/2001:db8::7",
                "--address=/gone.allowed.test/",
                "--txt-record=txt.allowed.test,v=1",
                "--local=/cname.test/",
                "--host-record=target.cname.test,192.0.2.9",
                "--cname=www.cname.test,target.cname.test"));
    for (int i = 0; i < 10; i++) {
      config.add("--txt-record=big.allowed.test," + i + LONG);
    }
    dnsmasq = Dnsmasq.start(config.toArray(new String[0]));
  }

  @AfterAll
  static void stopDnsmasq() {
    dnsmasq.close();
  }

  static FallbackConfig config() {
    return FallbackConfig.DEFAULT
        .withUpstreams(dnsmasq.hostPort())
        .withAllowedZones("allowed.test", "cname.test")
        .withQueryTimeout(Duration.ofSeconds(2));
  }

  static double count(MeterRegistry registry, Outcome outcome) {
    return registry
        .get("anf_dns_fallbacks")
        .tag("outcome", outcome.name().toLowerCase(java.util.Locale.ROOT))
        .counter()
        .count();
  }

  /** Resolves an allowed sentinel name and waits until dnsmasq logged it: the log is caught up. */
  static void syncLog(DnsFallback fallback) {
    String sentinel = "sentinel-" + sentinels.incrementAndGet() + ".allowed.test.";
    assertThat(fallback.resolve(sentinel).outcome()).isEqualTo(Outcome.ANSWERED);
    dnsmasq.awaitQueryLogged(sentinel);
  }

  @Test
  void allowedZoneIsAnsweredWithAddressesTtlAndZone() {
    MeterRegistry registry = new SimpleMeterRegistry();
    DnsFallback fallback = new DnsFallback(config(), registry);
    FallbackAnswer a = fallback.resolve("www.allowed.test");
    assertThat(a.outcome()).as(a.detail()).isEqualTo(Outcome.ANSWERED);
    assertThat(a.addresses()).containsExactlyInAnyOrder("192.0.2.7", "2001:db8:0:0:0:0:0:7");
    assertThat(a.zone()).isEqualTo("allowed.test.");
    assertThat(a.ttlSeconds()).isEqualTo(300);
    assertThat(a.dnssecValidated()).isFalse();
    assertThat(count(registry, Outcome.ANSWERED)).isEqualTo(1);
    assertThat(fallback.resolve("txt.allowed.test.").txt()).containsExactly("v=1");
  }

  @Test
  void nxdomainIsNotFound() {
    FallbackAnswer a =
        new DnsFallback(config(), new SimpleMeterRegistry()).resolve("x.gone.allowed.test.");
    assertThat(a.outcome()).isEqualTo(Outcome.NOT_FOUND);
    assertThat(a.detail()).isEqualTo("NXDOMAIN");
  }

  @Test
  void cnameChainsAreFollowedInsideTheAnswer() {
    FallbackAnswer a =
        new DnsFallback(config(), new SimpleMeterRegistry()).resolve("www.cname.test.");
    assertThat(a.outcome()).as(a.detail()).isEqualTo(Outcome.ANSWERED);
    assertThat(a.addresses()).containsExactly("192.0.2.9");
  }

  @Test
  void disallowedNameIsRefusedAndNoQueryReachesTheUpstream() {
    MeterRegistry registry = new SimpleMeterRegistry();
    DnsFallback fallback = new DnsFallback(config(), registry);
    FallbackAnswer a = fallback.resolve("www.other.test.");
    FallbackAnswer b = fallback.resolve("www.notallowed.test.");
    assertThat(a.outcome()).isEqualTo(Outcome.REFUSED_BY_POLICY);
    assertThat(a.zone()).isEmpty();
    assertThat(a.detail()).contains("outside the allowed zones");
    assertThat(b.outcome()).isEqualTo(Outcome.REFUSED_BY_POLICY);
    Message forwarded = fallback.forward(DnsClient.query("mail.other.test.", Type.MX));
    assertThat(forwarded.getRcode()).isEqualTo(Rcode.REFUSED);
    assertThat(count(registry, Outcome.REFUSED_BY_POLICY)).isEqualTo(3);
    // dnsmasq logs queries in the order it gets them: once the sentinel is logged, any query
    // sent for the refused names before it would have been logged too.
    syncLog(fallback);
    assertThat(dnsmasq.queriesFor("www.other.test")).isEmpty();
    assertThat(dnsmasq.queriesFor("www.notallowed.test")).isEmpty();
    assertThat(dnsmasq.queriesFor("mail.other.test")).isEmpty();
  }

  @Test
  void truncatedUdpAnswerIsRetriedOverTcp() {
    FallbackAnswer a =
        new DnsFallback(config(), new SimpleMeterRegistry()).resolve("big.allowed.test.");
    assertThat(a.outcome()).as(a.detail()).isEqualTo(Outcome.ANSWERED);
    assertThat(a.txt()).hasSize(10).allMatch(t -> t.endsWith(LONG));
    // Ten 200-byte strings do not fit the 1280-byte UDP payload: asked once over UDP, again over
    // TCP. dnsmasq's TCP child logs through its parent, so the second line may come a little later.
    Await.until(
        Duration.ofSeconds(5),
        () -> txtQueries("big.allowed.test") == 2,
        () -> "two TXT queries for big.allowed.test in " + dnsmasq.queriesFor("big.allowed.test"));
  }

  static long txtQueries(String name) {
    return dnsmasq.queriesFor(name).stream().filter(l -> l.contains("query[TXT]")).count();
  }

  @Test
  void requireDnssecRefusesAnswersWithoutTheAdBit() {
    MeterRegistry registry = new SimpleMeterRegistry();
    DnsFallback fallback = new DnsFallback(config().withRequireDnssec(true), registry);
    FallbackAnswer a = fallback.resolve("www.allowed.test.");
    assertThat(a.outcome()).isEqualTo(Outcome.INSECURE);
    assertThat(a.addresses()).isEmpty();
    assertThat(a.detail()).contains("without the AD bit").contains(dnsmasq.hostPort());
    assertThat(count(registry, Outcome.INSECURE)).isEqualTo(1);
    Message forwarded = fallback.forward(DnsClient.query("www.allowed.test.", Type.A));
    assertThat(forwarded.getRcode()).isEqualTo(Rcode.SERVFAIL);
    assertThat(forwarded.getSection(Section.ANSWER)).isEmpty();
  }

  @Test
  void requireDnssecAcceptsAnswersTheUpstreamMarksAuthenticated() throws IOException {
    // The upstream here relays dnsmasq's answers and vouches for them with the AD bit, as a
    // validating resolver does for a signed zone; it runs on a real DNS server (the gateway).
    DnsFallback toDnsmasq = new DnsFallback(config(), new SimpleMeterRegistry());
    DnsHandler vouching =
        new DnsHandler() {
          @Override
          public String name() {
            return "vouching-relay";
          }

          @Override
          public int serve(Message query, DnsWriter writer) {
            Message reply = toDnsmasq.forward(query);
            reply.getHeader().setFlag(Flags.AD);
            writer.write(reply);
            return reply.getRcode();
          }
        };
    try (DnsGateway upstream =
        DnsGateway.start(
            GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
            vouching,
            new SimpleMeterRegistry())) {
      FallbackConfig strict =
          config()
              .withUpstreams(List.of(new InetSocketAddress(Ports.LOOPBACK, upstream.port())))
              .withRequireDnssec(true);
      FallbackAnswer a =
          new DnsFallback(strict, new SimpleMeterRegistry()).resolve("www.allowed.test.");
      assertThat(a.outcome()).as(a.detail()).isEqualTo(Outcome.ANSWERED);
      assertThat(a.dnssecValidated()).isTrue();
      assertThat(a.addresses()).contains("192.0.2.7");
    }
  }

  @Test
  void aDeadUpstreamIsSkippedForTheNext() throws IOException {
    int dead = Ports.freeUdpAndTcpPort();
    FallbackConfig twoUpstreams = config().withUpstreams("127.0.0.1:" + dead, dnsmasq.hostPort());
    FallbackAnswer a =
        new DnsFallback(twoUpstreams, new SimpleMeterRegistry()).resolve("www.allowed.test.");
    assertThat(a.outcome()).as(a.detail()).isEqualTo(Outcome.ANSWERED);
  }

  @Test
  void noUpstreamAnsweringIsFailedNamingEachOne() throws IOException {
    int dead = Ports.freeUdpAndTcpPort();
    try (DatagramSocket silent = new DatagramSocket(new InetSocketAddress(Ports.LOOPBACK, 0))) {
      FallbackConfig c =
          config()
              .withUpstreams("127.0.0.1:" + dead, "127.0.0.1:" + silent.getLocalPort())
              .withQueryTimeout(Duration.ofMillis(300));
      MeterRegistry registry = new SimpleMeterRegistry();
      long start = System.nanoTime();
      FallbackAnswer a = new DnsFallback(c, registry).resolve("www.allowed.test.");
      long ms = (System.nanoTime() - start) / 1_000_000;
      assertThat(a.outcome()).isEqualTo(Outcome.FAILED);
      assertThat(a.zone()).isEqualTo("allowed.test.");
      assertThat(a.detail())
          .contains("127.0.0.1:" + dead)
          .contains("127.0.0.1:" + silent.getLocalPort());
      assertThat(ms).isLessThan(2 * 2 * 300 + 1_000);
      assertThat(count(registry, Outcome.FAILED)).isEqualTo(1);
    }
  }

  @Test
  void upstreamRefusalIsNotAnAnswer() {
    // dnsmasq has no data and no upstream for other.test: it answers REFUSED.
    FallbackConfig c = config().withAllowedZones("other.test");
    FallbackAnswer a = new DnsFallback(c, new SimpleMeterRegistry()).resolve("www.other.test.");
    assertThat(a.outcome()).isEqualTo(Outcome.FAILED);
    assertThat(a.detail()).contains("answered REFUSED");
  }

  @Test
  void forwardRelaysTheUpstreamAnswerUnderTheClientsId() {
    DnsFallback fallback = new DnsFallback(config(), new SimpleMeterRegistry());
    Message query = DnsClient.query("www.allowed.test.", Type.A);
    Message reply = fallback.forward(query);
    assertThat(reply.getHeader().getID()).isEqualTo(query.getHeader().getID());
    assertThat(reply.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(reply.getHeader().getFlag(Flags.QR)).isTrue();
    List<String> addresses = new ArrayList<>();
    for (Record r : reply.getSection(Section.ANSWER)) {
      addresses.add(((ARecord) r).getAddress().getHostAddress());
    }
    assertThat(addresses).containsExactly("192.0.2.7");
    assertThat(reply.getOPT()).isNull();
    assertThat(fallback.forward(DnsClient.query("allowed.test.", Type.AXFR)).getRcode())
        .isEqualTo(Rcode.REFUSED);
  }

  @Test
  void theHostsResolverConfigurationIsNeverRead() throws ReflectiveOperationException {
    DnsFallback fallback = new DnsFallback(config(), new SimpleMeterRegistry());
    assertThat(fallback.resolve("www.allowed.test.").outcome()).isEqualTo(Outcome.ANSWERED);
    fallback.forward(DnsClient.query("www.allowed.test.", Type.A));
    // dnsjava reads /etc/resolv.conf (and the JVM's own settings) into ResolverConfig on first use
    // only: still unset means neither the fallback nor anything it called ever asked for it.
    java.lang.reflect.Field current = ResolverConfig.class.getDeclaredField("currentConfig");
    current.setAccessible(true);
    assertThat(current.get(null)).isNull();
  }

  @Test
  void forwardFailureIsServfailWithTheReason() throws IOException {
    int dead = Ports.freeUdpAndTcpPort();
    DnsFallback fallback =
        new DnsFallback(config().withUpstreams("127.0.0.1:" + dead), new SimpleMeterRegistry());
    Message reply = fallback.forward(DnsClient.query("www.allowed.test.", Type.A));
    assertThat(reply.getRcode()).isEqualTo(Rcode.SERVFAIL);
    OPTRecord opt = java.util.Objects.requireNonNull(reply.getOPT());
    assertThat(opt.getOptions()).singleElement().isInstanceOf(ExtendedErrorCodeOption.class);
    assertThat(((ExtendedErrorCodeOption) opt.getOptions().get(0)).getText())
        .contains("127.0.0.1:" + dead);
  }
}
