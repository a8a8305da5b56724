package org.anf.dns.gateway;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.FaultyResolver;
import org.anf.dns.testing.TestFabric;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Endpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/**
 * The gateway over real UDP and TCP on loopback, queried with dnsjava, answering from a real
 * in-memory fabric (lineage's lookup and walk) through the standard handler chain.
 */
class GatewayIT {
  static TestFabric f;
  static DnsGateway gateway;
  static DnsClient dns;
  static SimpleMeterRegistry registry = new SimpleMeterRegistry();
  static Uid hello;
  static Uid old;

  @BeforeAll
  static void start() throws IOException {
    f = new TestFabric(7);
    hello =
        f.bind(
            f.svc,
            "svc@demo/hello",
            ep("192.0.2.10", 8080),
            ep("2001:db8::10", 8080),
            ep("api.example.org", 443),
            ep("192.0.2.10", 0));
    f.registerDevice(f.user, "user@elizabeth/iot/thermostat", "3f9a0c", ep("192.168.1.20", 0));
    List<Endpoint> many = new ArrayList<>();
    for (int i = 0; i < 60; i++) {
      many.add(ep("10.0." + (i / 10) + "." + (i % 10 + 1), 0));
    }
    f.bind(f.svc, "svc@big", many.toArray(new Endpoint[0]));
    old = f.bind(f.svc, "svc@old", ep("192.0.2.30", 80));
    f.rename(f.svc, "svc@old", "svc@new");
    Uid revoked = f.bind(f.svc, "svc@revoked", ep("192.0.2.40", 80));
    f.revoke(f.svc, revoked, "key compromised");
    f.bind(f.svc, "svc@docs/report", ep("192.0.2.50", 80));
    GatewayConfig config = GatewayConfig.DEFAULT.withListen("127.0.0.1", 0);
    gateway = DnsGateway.start(config, new FaultyResolver(f.resolver), null, registry);
    dns = new DnsClient(gateway.port());
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  void aRecordsAreTheIpv4EndpointsOnceEach() throws IOException {
    Message r = dns.udp("hello.demo.svc.anf.", Type.A);
    assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(r.getHeader().getFlag(Flags.AA)).isTrue();
    assertThat(addresses(r, Section.ANSWER)).containsExactly("192.0.2.10");
    assertThat(r.getSection(Section.ANSWER).get(0).getTTL())
        .isEqualTo(Policies.DEFAULT_CACHE_TTL_SECONDS);
  }

  @Test
  void aaaaRecordsAreTheIpv6Endpoints() throws IOException {
    Message r = dns.udp("hello.demo.svc.anf.", Type.AAAA);
    assertThat(addresses(r, Section.ANSWER)).containsExactly("2001:db8:0:0:0:0:0:10");
  }

  @Test
  void namesAreCaseInsensitive() throws IOException {
    Message r = dns.udp("HELLO.Demo.SVC.anf.", Type.A);
    assertThat(addresses(r, Section.ANSWER)).containsExactly("192.0.2.10");
  }

  @Test
  void txtCarriesUidAndAlias() throws IOException {
    Message r = dns.udp("hello.demo.svc.anf.", Type.TXT);
    assertThat(txt(r)).containsExactlyInAnyOrder("uid=" + hello.text(), "alias=svc@demo/hello");
  }

  @Test
  void srvHasOneRecordPerPortAndTargetWithIpTargetsResolvedInAdditional() throws IOException {
    Message r = dns.udp("hello.demo.svc.anf.", Type.SRV);
    List<String> srv = new ArrayList<>();
    for (Record rec : r.getSection(Section.ANSWER)) {
      SRVRecord s = (SRVRecord) rec;
      srv.add(s.getPriority() + " " + s.getWeight() + " " + s.getPort() + " " + s.getTarget());
    }
    assertThat(srv)
        .containsExactlyInAnyOrder("0 0 8080 hello.demo.svc.anf.", "0 0 443 api.example.org.");
    assertThat(addresses(r, Section.ADDITIONAL))
        .containsExactlyInAnyOrder("192.0.2.10", "2001:db8:0:0:0:0:0:10");
  }

  @Test
  void unknownNameIsNxdomainWithTheZoneSoaAndTheNegativeTtl() throws IOException {
    Message r = dns.udp("nothing.svc.anf.", Type.A);
    assertThat(r.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(r.getSection(Section.ANSWER)).isEmpty();
    SOARecord soa = soa(r);
    assertThat(soa.getName()).isEqualTo(Name.fromConstantString("anf."));
    assertThat(soa.getTTL()).isEqualTo(Policies.DEFAULT_NEGATIVE_TTL_SECONDS);
    assertThat(soa.getMinimum()).isEqualTo(Policies.DEFAULT_NEGATIVE_TTL_SECONDS);
  }

  @Test
  void unsupportedTypeIsNodataWithSoa() throws IOException {
    Message r = dns.udp("hello.demo.svc.anf.", Type.MX);
    assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(r.getSection(Section.ANSWER)).isEmpty();
    assertThat(soa(r).getName()).isEqualTo(Name.fromConstantString("anf."));
  }

  @Test
  void aScopeOfItsOwnIsNodataNotNxdomainSinceNamesExistBelowIt() throws IOException {
    Message r = dns.udp("svc.anf.", Type.A);
    assertThat(r.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(r.getSection(Section.ANSWER)).isEmpty();
    soa(r);
  }

  @Test
  void apexAnswersItsSoaAndNodataOtherwise() throws IOException {
    Message soa = dns.udp("anf.", Type.SOA);
    assertThat(soa.getSection(Section.ANSWER)).singleElement().isInstanceOf(SOARecord.class);
    Message a = dns.udp("anf.", Type.A);
    assertThat(a.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(a.getSection(Section.ANSWER)).isEmpty();
  }

  @Test
  void outsideTheZoneWithoutForwarderIsRefused() throws IOException {
    Message r = dns.udp("example.org.", Type.A);
    assertThat(r.getRcode()).isEqualTo(Rcode.REFUSED);
    assertThat(r.getSection(Section.ANSWER)).isEmpty();
  }

  @Test
  void largeAnswerIsTruncatedOverUdpWithNoPartialRrsetAndCompleteOverTcp() throws IOException {
    Message udp = dns.udp("big.svc.anf.", Type.A);
    assertThat(udp.getHeader().getFlag(Flags.TC)).isTrue();
    assertThat(udp.getSection(Section.ANSWER)).isEmpty();
    Message tcp = dns.tcp("big.svc.anf.", Type.A);
    assertThat(tcp.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(addresses(tcp, Section.ANSWER)).hasSize(60).contains("10.0.0.1", "10.0.5.10");
  }

  @Test
  void edns0PayloadSizeIsHonouredAndAnOptIsEchoed() throws IOException {
    Message small = dns.udpEdns("big.svc.anf.", Type.A, 600);
    assertThat(small.getHeader().getFlag(Flags.TC)).isTrue();
    assertThat(DnsClient.opt(small)).isNotNull();
    Message large = dns.udpEdns("big.svc.anf.", Type.A, 4096);
    assertThat(large.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(addresses(large, Section.ANSWER)).hasSize(60);
    OPTRecord opt = Objects.requireNonNull(DnsClient.opt(large));
    assertThat(opt.getPayloadSize()).isEqualTo(4096);
    assertThat(opt.getVersion()).isZero();
  }

  @Test
  void withoutEdnsNoOptIsSent() throws IOException {
    assertThat(DnsClient.opt(dns.udp("hello.demo.svc.anf.", Type.A))).isNull();
  }

  @Test
  void redirectedAliasAnswersWithTheSuccessorAndSaysWhereFrom() throws IOException {
    assertThat(addresses(dns.udp("old.svc.anf.", Type.A), Section.ANSWER))
        .containsExactly("192.0.2.30");
    assertThat(txt(dns.udp("old.svc.anf.", Type.TXT)))
        .containsExactlyInAnyOrder("uid=" + old.text(), "alias=svc@new", "redirected-from=svc@old");
    assertThat(txt(dns.udp("new.svc.anf.", Type.TXT)))
        .containsExactlyInAnyOrder("uid=" + old.text(), "alias=svc@new");
  }

  @Test
  void revokedIsNxdomainWithSoaAndAReason() throws IOException {
    Message r = dns.udpEdns("revoked.svc.anf.", Type.A, 1232);
    assertThat(r.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    soa(r);
    assertThat(extendedError(r)).contains("revoked");
  }

  @Test
  void partialMatchIsNxdomain() throws IOException {
    Message r = dns.udp("chapter.report.docs.svc.anf.", Type.A);
    assertThat(r.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    soa(r);
  }

  @Test
  void nameThatIsNotAliasSyntaxIsNxdomainWithTheSyntaxErrorAsExtendedError() throws IOException {
    Message star = dns.udpEdns("*.svc.anf.", Type.A, 1232);
    assertThat(star.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(soa(star).getTTL()).isEqualTo(GatewayConfig.DEFAULT.negativeTtlSeconds());
    assertThat(extendedError(star)).contains("position 0").contains("'*'");
    StringBuilder deep = new StringBuilder();
    for (int i = 0; i < 70; i++) {
      deep.append("a.");
    }
    Message tooDeep = dns.udp(deep + "svc.anf.", Type.A);
    assertThat(tooDeep.getRcode()).isEqualTo(Rcode.NXDOMAIN);
  }

  @Test
  void opaqueSegmentsNeverLeak() throws IOException {
    Message txt = dns.tcp("thermostat.iot.elizabeth.user.anf.", Type.TXT);
    assertThat(txt.getRcode()).isEqualTo(Rcode.NOERROR);
    assertThat(txt(txt)).contains("alias=user@elizabeth/iot/thermostat");
    for (int type : new int[] {Type.A, Type.TXT, Type.SRV, Type.ANY}) {
      Message r = dns.tcp("thermostat.iot.elizabeth.user.anf.", type);
      assertThat(new String(r.toWire(), StandardCharsets.ISO_8859_1)).doesNotContain("3f9a0c");
    }
    // The device hash as a label is an ordinary (unbound) label, not the opaque segment.
    assertThat(dns.udp("3f9a0c.iot.elizabeth.user.anf.", Type.A).getRcode())
        .isEqualTo(Rcode.NXDOMAIN);
  }

  @Test
  void zoneTransfersAndOtherClassesAreRefused() throws IOException {
    byte[] axfr = DnsClient.query("anf.", Type.AXFR).toWire();
    assertThat(new Message(Objects.requireNonNull(dns.rawTcp(axfr))).getRcode())
        .isEqualTo(Rcode.REFUSED);
    Message chaos =
        dns.send(DnsClient.query("hello.demo.svc.anf.", Type.TXT, DClass.CH), false, -1);
    assertThat(chaos.getRcode()).isEqualTo(Rcode.REFUSED);
  }

  @Test
  void aFailingResolverGetsServfailAndTheGatewayCarriesOn() throws IOException {
    assertThat(dns.udp("boom.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
    assertThat(dns.tcp("boom.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
    assertThat(dns.udp("down.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.SERVFAIL);
    assertThat(addresses(dns.udp("hello.demo.svc.anf.", Type.A), Section.ANSWER))
        .containsExactly("192.0.2.10");
  }

  @Test
  void malformedQueriesGetFormerrNotimpOrBadvers() throws IOException {
    Message two = DnsClient.query("hello.demo.svc.anf.", Type.A);
    two.addRecord(
        Record.newRecord(Name.fromConstantString("x.anf."), Type.A, DClass.IN), Section.QUESTION);
    Message r = new Message(Objects.requireNonNull(dns.rawUdp(two.toWire(), DnsClient.TIMEOUT)));
    assertThat(r.getRcode()).isEqualTo(Rcode.FORMERR);
    assertThat(r.getHeader().getID()).isEqualTo(two.getHeader().getID());

    Message notify = DnsClient.query("anf.", Type.SOA);
    notify.getHeader().setOpcode(Opcode.NOTIFY);
    assertThat(
            new Message(Objects.requireNonNull(dns.rawUdp(notify.toWire(), DnsClient.TIMEOUT)))
                .getRcode())
        .isEqualTo(Rcode.NOTIMP);

    Message v1 = DnsClient.query("hello.demo.svc.anf.", Type.A);
    v1.addRecord(new OPTRecord(1232, 0, 1), Section.ADDITIONAL);
    assertThat(
            new Message(Objects.requireNonNull(dns.rawUdp(v1.toWire(), DnsClient.TIMEOUT)))
                .getRcode())
        .isEqualTo(Rcode.BADVERS);

    byte[] garbage = DnsClient.query("hello.demo.svc.anf.", Type.A).toWire();
    byte[] cut = java.util.Arrays.copyOf(garbage, garbage.length - 3);
    assertThat(new Message(Objects.requireNonNull(dns.rawUdp(cut, DnsClient.TIMEOUT))).getRcode())
        .isEqualTo(Rcode.FORMERR);
  }

  @Test
  void responsesAndHeaderlessPacketsAreDropped() throws IOException {
    Message response = DnsClient.query("hello.demo.svc.anf.", Type.A);
    response.getHeader().setFlag(Flags.QR);
    assertThat(dns.rawUdp(response.toWire(), Duration.ofMillis(300))).isNull();
    assertThat(dns.rawUdp(new byte[] {1, 2, 3}, Duration.ofMillis(300))).isNull();
    assertThat(dns.udp("hello.demo.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.NOERROR);
  }

  @Test
  void metricsCountRepliesByRcodeAndTimeThem() throws IOException {
    double before = count("NXDOMAIN", "udp");
    dns.udp("nothing-here.svc.anf.", Type.A);
    dns.udp("nothing-there.svc.anf.", Type.A);
    assertThat(count("NXDOMAIN", "udp")).isEqualTo(before + 2);
    assertThat(registry.get("anf_dns_query_latency").tag("transport", "udp").timer().count())
        .isPositive();
  }

  // -- helpers --

  private static double count(String rcode, String transport) {
    var c =
        registry.find("anf_dns_queries").tag("rcode", rcode).tag("transport", transport).counter();
    return c == null ? 0 : c.count();
  }

  static List<String> addresses(Message m, int section) {
    List<String> out = new ArrayList<>();
    for (Record r : m.getSection(section)) {
      if (r instanceof ARecord a) {
        out.add(a.getAddress().getHostAddress());
      } else if (r instanceof AAAARecord a) {
        out.add(a.getAddress().getHostAddress());
      }
    }
    return out;
  }

  static List<String> txt(Message m) {
    List<String> out = new ArrayList<>();
    for (Record r : m.getSection(Section.ANSWER)) {
      out.add(String.join("", ((TXTRecord) r).getStrings()));
    }
    return out;
  }

  static SOARecord soa(Message m) {
    List<Record> authority = m.getSection(Section.AUTHORITY);
    assertThat(authority)
        .as("authority section of\n%s", m)
        .singleElement()
        .isInstanceOf(SOARecord.class);
    return (SOARecord) authority.get(0);
  }

  static String extendedError(Message m) {
    OPTRecord opt = Objects.requireNonNull(DnsClient.opt(m), "no OPT in reply");
    StringBuilder sb = new StringBuilder();
    for (var o : opt.getOptions()) {
      if (o instanceof ExtendedErrorCodeOption e) {
        sb.append(e.getText());
      }
    }
    return sb.toString();
  }
}
