package org.anf.dns.fallback;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.anf.dns.testing.Dnsmasq;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The resolver's legacy DNS fallback end to end: {@link AnfResolver} hands a plain DNS name to
 * {@link DnsFallback}, which asks a real dnsmasq on loopback. The fabric is not involved (a plain
 * DNS name is not an alias), so the resolver's seed is an address nothing listens on.
 */
class DnsFallbackResolverIT {
  static Dnsmasq dnsmasq;

  @BeforeAll
  static void startDnsmasq() throws IOException {
    dnsmasq =
        Dnsmasq.start(
            "--local-ttl=120",
            "--local=/allowed.test/",
            "--address=/allowed.test/192.0.2.44",
            "--address=/gone.allowed.test/",
            "--local=/other.test/",
            "--address=/other.test/192.0.2.99");
  }

  @AfterAll
  static void stopDnsmasq() {
    dnsmasq.close();
  }

  /** A resolver whose fallback allows allowed.test only (other.test exists upstream but is not). */
  static AnfResolver resolver(MeterRegistry registry) {
    DnsFallback fallback =
        new DnsFallback(
            FallbackConfig.DEFAULT
                .withUpstreams(dnsmasq.hostPort())
                .withAllowedZones("allowed.test")
                .withQueryTimeout(Duration.ofSeconds(2)),
            registry);
    return new AnfResolver(ResolverConfig.of(List.of("127.0.0.1:1")), fallback, registry);
  }

  static double fallbacks(MeterRegistry registry) {
    return registry.get("anf.resolver.fallbacks").counter().count();
  }

  /** Runs {@code body} with stderr (where slf4j-simple logs) copied into the returned text. */
  static String stderrOf(Runnable body) {
    PrintStream original = System.err;
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    PrintStream tee =
        new PrintStream(
            new java.io.OutputStream() {
              @Override
              public void write(int b) {
                original.write(b);
                copy.write(b);
              }

              @Override
              public void write(byte[] b, int off, int len) {
                original.write(b, off, len);
                copy.write(b, off, len);
              }
            },
            true,
            StandardCharsets.UTF_8);
    System.setErr(tee);
    try {
      body.run();
    } finally {
      System.setErr(original);
    }
    return copy.toString(StandardCharsets.UTF_8);
  }

  static long linesMentioning(String log, String name) {
    return Arrays.stream(log.split("\n")).filter(l -> l.contains(name)).count();
  }

  @Test
  void aPlainDnsNameInAnAllowedZoneIsAnsweredByLegacyDnsWithOneLogLineAndTheMetric() {
    MeterRegistry registry = new SimpleMeterRegistry();
    try (AnfResolver r = resolver(registry)) {
      LookupResult[] res = new LookupResult[1];
      String log = stderrOf(() -> res[0] = r.resolve("www.allowed.test", ResolveOptions.DEFAULT));
      assertThat(res[0].getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_DNS_FALLBACK);
      assertThat(res[0].getRecord().getEndpointsList())
          .extracting(Endpoint::getHost)
          .containsExactly("192.0.2.44");
      assertThat(res[0].getTtlSeconds()).isEqualTo(120);
      assertThat(res[0].getDetail()).contains("zone allowed.test.");
      assertThat(dnsmasq.queriesFor("www.allowed.test")).isNotEmpty();
      assertThat(fallbacks(registry)).isEqualTo(1);
      assertThat(
              registry.get("anf.resolver.resolves").tag("status", "DNS_FALLBACK").counter().count())
          .isEqualTo(1);
      // Exactly one log line for the fallback (the fallback's, with zone, outcome and upstream).
      assertThat(linesMentioning(log, "www.allowed.test")).as(log).isEqualTo(1);
      assertThat(log).contains("outcome=ANSWERED").contains("upstream=" + dnsmasq.hostPort());

      // NXDOMAIN upstream: a typed NOT_FOUND, counted and logged once too.
      String nxLog =
          stderrOf(
              () ->
                  assertThat(r.resolve("x.gone.allowed.test", ResolveOptions.DEFAULT).getStatus())
                      .isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND));
      assertThat(linesMentioning(nxLog, "x.gone.allowed.test")).as(nxLog).isEqualTo(1);
      assertThat(fallbacks(registry)).isEqualTo(2);
    }
  }

  @Test
  void aDisallowedZoneIsRefusedByPolicyAndNoQueryReachesTheUpstream() {
    MeterRegistry registry = new SimpleMeterRegistry();
    try (AnfResolver r = resolver(registry)) {
      String log =
          stderrOf(
              () ->
                  assertThatThrownBy(() -> r.resolve("www.other.test", ResolveOptions.DEFAULT))
                      .isInstanceOfSatisfying(
                          AnfException.class,
                          e -> {
                            // A policy refusal, not "the name does not exist".
                            assertThat(e.code()).isEqualTo(ErrorCode.PRECONDITION_FAILED);
                            assertThat(e.getMessage())
                                .contains("refused by policy")
                                .contains("outside the allowed zones")
                                .contains("no query was sent");
                          }));
      assertThat(linesMentioning(log, "www.other.test")).as(log).isEqualTo(1);
      assertThat(log).contains("outcome=REFUSED_BY_POLICY");
      assertThat(fallbacks(registry)).isEqualTo(1);
      assertThat(
              registry
                  .get("anf_dns_fallbacks")
                  .tag("outcome", "refused_by_policy")
                  .counter()
                  .count())
          .isEqualTo(1);

      // dnsmasq logs queries in the order it gets them: once a later sentinel is logged, a query
      // sent for the refused name before it would have been logged too.
      String sentinel = "sentinel-refusal.allowed.test";
      assertThat(r.resolve(sentinel, ResolveOptions.DEFAULT).getStatus())
          .isEqualTo(LookupStatus.LOOKUP_STATUS_DNS_FALLBACK);
      dnsmasq.awaitQueryLogged(sentinel);
      assertThat(dnsmasq.queriesFor("www.other.test")).isEmpty();
    }
  }
}
