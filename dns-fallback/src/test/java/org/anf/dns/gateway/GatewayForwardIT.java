package org.anf.dns.gateway;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import org.anf.dns.fallback.DnsFallback;
import org.anf.dns.fallback.FallbackConfig;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.Dnsmasq;
import org.anf.dns.testing.TestFabric;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The whole chain with a real upstream: the gateway in front of the fabric and of dnsmasq. Proves
 * the chain order (the anf zone first, the forwarder second, refusal last) from what dnsmasq saw.
 */
class GatewayForwardIT {
  static Dnsmasq dnsmasq;
  static TestFabric f;

  @BeforeAll
  static void start() throws IOException {
    dnsmasq =
        Dnsmasq.start(
            "--local=/allowed.test/",
            "--address=/allowed.test/192.0.2.7",
            // dnsmasq would answer for the anf zone too, wrongly: it must never be asked.
            "--local=/anf/",
            "--address=/anf/198.51.100.99");
    f = new TestFabric(11);
    f.bind(f.svc, "svc@demo/hello", ep("192.0.2.10", 8080));
  }

  @AfterAll
  static void stop() {
    dnsmasq.close();
  }

  static DnsGateway gateway(String... allowedZones) throws IOException {
    FallbackConfig c =
        FallbackConfig.DEFAULT
            .withUpstreams(dnsmasq.hostPort())
            .withAllowedZones(allowedZones)
            .withQueryTimeout(Duration.ofSeconds(2));
    return DnsGateway.start(
        GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
        f.resolver,
        new DnsFallback(c, new SimpleMeterRegistry()),
        new SimpleMeterRegistry());
  }

  @Test
  void allowedNamesAreForwardedAndTheAnfZoneNeverIs() throws IOException {
    // "." allows every name, the anf zone included: the anf handler must still come first.
    try (DnsGateway g = gateway(".")) {
      DnsClient dns = new DnsClient(g.port());
      Message fwd = dns.udp("www.allowed.test.", Type.A);
      assertThat(fwd.getRcode()).isEqualTo(Rcode.NOERROR);
      assertThat(GatewayIT.addresses(fwd, Section.ANSWER)).containsExactly("192.0.2.7");
      assertThat(fwd.getHeader().getFlag(Flags.RA)).isTrue();
      assertThat(fwd.getHeader().getFlag(Flags.AA)).isFalse();
      assertThat(fwd.getHeader().getID()).isNotZero();

      Message anf = dns.udp("hello.demo.svc.anf.", Type.A);
      assertThat(GatewayIT.addresses(anf, Section.ANSWER)).containsExactly("192.0.2.10");
      assertThat(dns.udp("nothing.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);

      dnsmasq.awaitQueryLogged("www.allowed.test");
      dns.udp("sentinel-forward.allowed.test.", Type.A);
      dnsmasq.awaitQueryLogged("sentinel-forward.allowed.test");
      assertThat(dnsmasq.queriesFor("hello.demo.svc.anf")).isEmpty();
      assertThat(dnsmasq.queriesFor("nothing.svc.anf")).isEmpty();
    }
  }

  @Test
  void namesOutsideTheAllowedZonesAreRefusedWithoutAPacket() throws IOException {
    try (DnsGateway g = gateway("allowed.test")) {
      DnsClient dns = new DnsClient(g.port());
      Message refused = dns.udp("www.other.test.", Type.A);
      assertThat(refused.getRcode()).isEqualTo(Rcode.REFUSED);
      assertThat(refused.getSection(Section.ANSWER)).isEmpty();
      assertThat(dns.tcp("www.other.test.", Type.A).getRcode()).isEqualTo(Rcode.REFUSED);
      dns.udp("sentinel-refuse.allowed.test.", Type.A);
      dnsmasq.awaitQueryLogged("sentinel-refuse.allowed.test");
      assertThat(dnsmasq.queriesFor("www.other.test")).isEmpty();
    }
  }
}
