package org.anf.dns.fallback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.resolver.FallbackAnswer.Outcome;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Name;

/** Fallback configuration: parsing, normalisation, defaults and the zone policy. */
class FallbackConfigTest {
  @Test
  void defaultsAllowNothing() {
    FallbackConfig d = FallbackConfig.DEFAULT;
    assertThat(d.upstreams()).isEmpty();
    assertThat(d.allowedZones()).isEmpty();
    assertThat(d.requireDnssec()).isFalse();
    assertThat(d.queryTimeout()).isEqualTo(Duration.ofSeconds(2));
    DnsFallback f = new DnsFallback(d, new SimpleMeterRegistry());
    assertThat(f.resolve("example.org.").outcome()).isEqualTo(Outcome.REFUSED_BY_POLICY);
  }

  @Test
  void upstreamsAreIpLiteralsWithAnOptionalPort() {
    assertThat(FallbackConfig.upstream("192.0.2.1").getPort()).isEqualTo(53);
    InetSocketAddress v4 = FallbackConfig.upstream(" 192.0.2.1:5353 ");
    assertThat(v4.getAddress().getHostAddress()).isEqualTo("192.0.2.1");
    assertThat(v4.getPort()).isEqualTo(5353);
    assertThat(FallbackConfig.upstream("2001:db8::1").getPort()).isEqualTo(53);
    InetSocketAddress v6 = FallbackConfig.upstream("[2001:db8::1]:5353");
    assertThat(v6.getPort()).isEqualTo(5353);
    assertThat(v6.getAddress().getAddress()).hasSize(16);
    assertThat(DnsFallback.hostPort(v6)).isEqualTo("[2001:db8:0:0:0:0:0:1]:5353");
  }

  @Test
  void hostNamesAndBadPortsAreRefusedWithTheReason() {
    assertThatThrownBy(() -> FallbackConfig.upstream("dns.example.org:53"))
        .isInstanceOf(AnfException.class)
        .hasMessageContaining("'dns.example.org' is not an IP literal")
        .hasMessageContaining("host's resolver");
    for (String bad : List.of("192.0.2.1:0", "192.0.2.1:65536", "192.0.2.1:x", "[::1", "[::1]53")) {
      assertThatThrownBy(() -> FallbackConfig.upstream(bad))
          .isInstanceOf(AnfException.class)
          .hasMessageContaining("upstream '" + bad + "'")
          .satisfies(
              e -> assertThat(((AnfException) e).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
    }
    assertThatThrownBy(
            () ->
                FallbackConfig.DEFAULT.withUpstreams(
                    List.of(InetSocketAddress.createUnresolved("dns.example.org", 53))))
        .hasMessageContaining("must be an IP literal");
  }

  @Test
  void zonesAreNormalisedAbsoluteAndLowerCase() {
    FallbackConfig c =
        FallbackConfig.DEFAULT.withAllowedZones("Example.ORG", "corp.test.", "corp.test");
    assertThat(c.allowedZones()).containsExactly("example.org.", "corp.test.");
    assertThatThrownBy(() -> FallbackConfig.DEFAULT.withAllowedZones(" "))
        .hasMessageContaining("must not be empty");
    assertThatThrownBy(() -> FallbackConfig.DEFAULT.withAllowedZones("a".repeat(64) + ".test"))
        .hasMessageContaining("is not a DNS name");
  }

  @Test
  void timeoutsMustBeSensible() {
    assertThatThrownBy(() -> FallbackConfig.DEFAULT.withQueryTimeout(Duration.ZERO))
        .hasMessageContaining("queryTimeout");
    assertThatThrownBy(() -> FallbackConfig.DEFAULT.withQueryTimeout(Duration.ofMinutes(2)))
        .hasMessageContaining("at most 1 minute");
  }

  @Test
  void allowedZonesWithoutAnUpstreamAreAConfigurationError() {
    assertThatThrownBy(
            () ->
                new DnsFallback(
                    FallbackConfig.DEFAULT.withAllowedZones("example.org"),
                    new SimpleMeterRegistry()))
        .isInstanceOf(AnfException.class)
        .hasMessageContaining("no upstream");
  }

  @Test
  void theMostSpecificZoneIsReportedAndLabelBoundariesHold() {
    DnsFallback f =
        new DnsFallback(
            FallbackConfig.DEFAULT
                .withUpstreams("127.0.0.1:1")
                .withAllowedZones("test", "allowed.test", "deep.allowed.test"),
            new SimpleMeterRegistry());
    assertThat(f.zoneOf(Name.fromConstantString("a.deep.allowed.test.")))
        .hasToString("deep.allowed.test.");
    assertThat(f.zoneOf(Name.fromConstantString("a.allowed.test."))).hasToString("allowed.test.");
    assertThat(f.zoneOf(Name.fromConstantString("notallowed.test."))).hasToString("test.");
    DnsFallback narrow =
        new DnsFallback(
            FallbackConfig.DEFAULT.withUpstreams("127.0.0.1:1").withAllowedZones("allowed.test"),
            new SimpleMeterRegistry());
    assertThat(narrow.allows(Name.fromConstantString("notallowed.test."))).isFalse();
    assertThat(narrow.allows(Name.fromConstantString("allowed.test."))).isTrue();
    assertThat(narrow.allows(Name.fromConstantString("x.ALLOWED.test."))).isTrue();
    assertThat(narrow.resolve("a..b").outcome()).isEqualTo(Outcome.REFUSED_BY_POLICY);
    assertThat(narrow.resolve("a..b").detail()).contains("is not a DNS name");
  }

  @Test
  void theRootZoneAllowsEverything() {
    DnsFallback all =
        new DnsFallback(
            FallbackConfig.DEFAULT.withUpstreams("127.0.0.1:1").withAllowedZones("."),
            new SimpleMeterRegistry());
    assertThat(all.allows(Name.fromConstantString("anything.example."))).isTrue();
  }
}
