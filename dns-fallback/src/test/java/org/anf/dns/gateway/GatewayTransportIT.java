package org.anf.dns.gateway;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.anf.dns.testing.Await;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.Ports;
import org.anf.dns.testing.TestFabric;
import org.anf.lineage.error.AnfException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Type;

/** Listening, TCP connection handling and shutdown. */
class GatewayTransportIT {
  static TestFabric f;

  @BeforeAll
  static void fabric() {
    f = new TestFabric(17);
    f.bind(f.svc, "svc@demo/hello", ep("192.0.2.10", 80));
  }

  static DnsGateway start(GatewayConfig c) throws IOException {
    return start(c, new SimpleMeterRegistry());
  }

  static DnsGateway start(GatewayConfig c, MeterRegistry registry) throws IOException {
    return DnsGateway.start(c, f.resolver, null, registry);
  }

  static GatewayConfig anyPort() {
    return GatewayConfig.DEFAULT.withListen("127.0.0.1", 0);
  }

  static byte[] helloQuery() {
    return DnsClient.query("hello.demo.svc.anf.", Type.A).toWire();
  }

  static List<Thread> gatewayThreads() {
    List<Thread> out = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().startsWith("anf-dns-") && t.isAlive()) {
        out.add(t);
      }
    }
    return out;
  }

  @Test
  void portZeroPicksOnePortServedByBothTransports() throws IOException {
    try (DnsGateway g = start(anyPort())) {
      assertThat(g.port()).isPositive();
      assertThat(g.address().getPort()).isEqualTo(g.port());
      DnsClient dns = new DnsClient(g.port());
      assertThat(dns.udp("hello.demo.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.NOERROR);
      assertThat(dns.tcp("hello.demo.svc.anf.", Type.A).getRcode()).isEqualTo(Rcode.NOERROR);
    }
  }

  @Test
  void closeReleasesBothPortsAndEndsEveryThread() throws IOException {
    DnsGateway g = start(anyPort());
    int port = g.port();
    DnsClient dns = new DnsClient(port);
    Socket idle = dns.connect(Duration.ofSeconds(5));
    dns.tcp("hello.demo.svc.anf.", Type.A);
    Await.until(
        Duration.ofSeconds(5), () -> !gatewayThreads().isEmpty(), () -> "gateway threads to start");
    g.close();
    g.close(); // idempotent
    assertThat(DnsClient.readFramed(idle)).as("open connections are closed").isNull();
    idle.close();
    try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(Ports.LOOPBACK, port));
        ServerSocket tcp = new ServerSocket()) {
      tcp.bind(new InetSocketAddress(Ports.LOOPBACK, port));
    }
    Await.until(
        Duration.ofSeconds(5),
        () -> gatewayThreads().isEmpty(),
        () -> "gateway threads to end: " + gatewayThreads());
  }

  @Test
  void aTakenFixedPortIsAClearError() throws IOException {
    try (DnsGateway first = start(anyPort())) {
      assertThatThrownBy(() -> start(anyPort().withListen("127.0.0.1", first.port())))
          .isInstanceOf(IOException.class)
          .hasMessageContaining("cannot listen on 127.0.0.1:" + first.port());
    }
    assertThatThrownBy(() -> start(anyPort().withListen("localhost", 0)))
        .isInstanceOf(AnfException.class)
        .hasMessageContaining("must be an IP literal");
  }

  @Test
  void tcpCarriesManyQueriesAnsweredInOrder() throws IOException {
    try (DnsGateway g = start(anyPort());
        Socket s = new DnsClient(g.port()).connect(Duration.ofSeconds(5))) {
      List<Message> sent = new ArrayList<>();
      for (String n : List.of("hello.demo.svc.anf.", "nothing.svc.anf.", "example.org.")) {
        Message q = DnsClient.query(n, Type.A);
        sent.add(q);
        DnsClient.writeFramed(s, q.toWire());
      }
      List<Integer> rcodes = new ArrayList<>();
      for (Message q : sent) {
        Message r = new Message(Objects.requireNonNull(DnsClient.readFramed(s)));
        assertThat(r.getHeader().getID()).isEqualTo(q.getHeader().getID());
        rcodes.add(r.getRcode());
      }
      assertThat(rcodes).containsExactly(Rcode.NOERROR, Rcode.NXDOMAIN, Rcode.REFUSED);
    }
  }

  @Test
  void idleConnectionsAreClosed() throws IOException {
    try (DnsGateway g = start(anyPort().withTcpIdleTimeout(Duration.ofMillis(200)));
        Socket s = new DnsClient(g.port()).connect(Duration.ofSeconds(5))) {
      long start = System.nanoTime();
      assertThat(DnsClient.readFramed(s)).isNull();
      assertThat(Duration.ofNanos(System.nanoTime() - start))
          .isGreaterThanOrEqualTo(Duration.ofMillis(150));
    }
    // Half a message then silence is idle too.
    try (DnsGateway g = start(anyPort().withTcpIdleTimeout(Duration.ofMillis(200)));
        Socket s = new DnsClient(g.port()).connect(Duration.ofSeconds(5))) {
      OutputStream out = s.getOutputStream();
      out.write(new byte[] {0, 40, 1, 2, 3});
      out.flush();
      assertThat(DnsClient.readFramed(s)).isNull();
      assertThat(new DnsClient(g.port()).udp("hello.demo.svc.anf.", Type.A).getRcode())
          .isEqualTo(Rcode.NOERROR);
    }
  }

  @Test
  void aLengthOverTheLimitClosesTheConnectionAndNothingElse() throws IOException {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    try (DnsGateway g = start(anyPort(), registry);
        Socket s = new DnsClient(g.port()).connect(Duration.ofSeconds(5))) {
      OutputStream out = s.getOutputStream();
      out.write(new byte[] {(byte) 0xFF, (byte) 0xFF, 0, 0, 0});
      out.flush();
      assertThat(DnsClient.readFramed(s)).isNull();
      assertThat(registry.get("anf_dns_dropped").tag("reason", "too_large").counter().count())
          .isEqualTo(1);
      assertThat(new DnsClient(g.port()).tcp("hello.demo.svc.anf.", Type.A).getRcode())
          .isEqualTo(Rcode.NOERROR);
    }
  }

  @Test
  void connectionsOverTheLimitAreClosedAndTheOthersServed() throws IOException {
    try (DnsGateway g = start(anyPort().withThreads(2, 2))) {
      DnsClient dns = new DnsClient(g.port());
      try (Socket a = dns.connect(Duration.ofSeconds(5));
          Socket b = dns.connect(Duration.ofSeconds(5))) {
        for (Socket s : List.of(a, b)) {
          DnsClient.writeFramed(s, helloQuery());
          assertThat(DnsClient.readFramed(s)).isNotNull();
        }
        try (Socket c = dns.connect(Duration.ofSeconds(5))) {
          assertThat(DnsClient.readFramed(c)).as("third connection closed").isNull();
        }
        DnsClient.writeFramed(a, helloQuery());
        assertThat(DnsClient.readFramed(a)).isNotNull();
      }
      // Once the first two are gone, a new connection is served again.
      Await.until(
          Duration.ofSeconds(5),
          () -> {
            try {
              return dns.rawTcp(helloQuery()) != null;
            } catch (IOException e) {
              return false;
            }
          },
          () -> "a new TCP connection to be served");
    }
  }
}
