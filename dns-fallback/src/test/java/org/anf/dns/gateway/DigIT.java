package org.anf.dns.gateway;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.anf.dns.testing.Dig;
import org.anf.dns.testing.TestFabric;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Endpoint;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gateway as legacy clients see it, through the real {@code dig} (dnsutils). These checks fail,
 * never skip, when dig is missing: CI installs it (see .ci/run).
 */
class DigIT {
  static DnsGateway gateway;
  static Uid hello;

  @BeforeAll
  static void start() throws IOException {
    TestFabric f = new TestFabric(13);
    hello = f.bind(f.svc, "svc@demo/hello", ep("192.0.2.10", 8080), ep("2001:db8::10", 0));
    List<Endpoint> many = new ArrayList<>();
    for (int i = 1; i <= 60; i++) {
      many.add(ep("10.1.0." + i, 0));
    }
    f.bind(f.svc, "svc@big", many.toArray(new Endpoint[0]));
    gateway =
        DnsGateway.start(
            GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
            f.resolver,
            null,
            new SimpleMeterRegistry());
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  static Dig.Result dig(String... args) {
    Dig.Result r = Dig.query(gateway.port(), args);
    assertThat(r.exitCode()).as("dig exit status, output:\n%s", r.output()).isZero();
    return r;
  }

  @Test
  void shortAnswersForEachType() {
    assertThat(dig("+short", "hello.demo.svc.anf.", "A").output().trim()).isEqualTo("192.0.2.10");
    assertThat(dig("+short", "hello.demo.svc.anf.", "AAAA").output().trim())
        .isEqualTo("2001:db8::10");
    assertThat(dig("+short", "hello.demo.svc.anf.", "TXT").output().lines())
        .containsExactlyInAnyOrder("\"uid=" + hello.text() + "\"", "\"alias=svc@demo/hello\"");
    assertThat(dig("+short", "hello.demo.svc.anf.", "SRV").output().trim())
        .isEqualTo("0 0 8080 hello.demo.svc.anf.");
  }

  @Test
  void statusesAndAuthority() {
    String nx = dig("nothing.svc.anf.", "A").output();
    assertThat(nx).contains("status: NXDOMAIN").contains("flags: qr aa");
    assertThat(nx).containsPattern("anf\\.\\s+5\\s+IN\\s+SOA\\s+ns\\.anf\\. hostmaster\\.anf\\.");
    assertThat(dig("example.org.", "A").output()).contains("status: REFUSED");
    assertThat(dig("+short", "anf.", "SOA").output().trim())
        .isEqualTo("ns.anf. hostmaster.anf. 1 3600 600 86400 5");
  }

  @Test
  void udpWithoutEdnsIsTruncatedAndTcpIsComplete() {
    String udp = dig("+noedns", "+ignore", "big.svc.anf.", "A").output();
    assertThat(udp).containsPattern("flags: qr aa tc[ ;]").contains("ANSWER: 0");
    String tcp = dig("+tcp", "+short", "big.svc.anf.", "A").output();
    assertThat(tcp.lines()).hasSize(60).contains("10.1.0.1", "10.1.0.60");
  }

  @Test
  void ednsBufferSizeAvoidsTruncation() {
    String out = dig("+bufsize=4096", "+ignore", "big.svc.anf.", "A").output();
    assertThat(out).doesNotContainPattern("flags:[a-z ]* tc").contains("ANSWER: 60");
    assertThat(out).contains("EDNS: version: 0").contains("udp: 4096");
  }
}
