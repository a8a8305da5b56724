package org.anf.dns.gateway;

import java.time.Duration;
import org.anf.dns.handler.AnfZone;
import org.anf.lineage.error.AnfException;
import org.anf.resolver.ResolveOptions;

/**
 * Configuration of the DNS gateway, with its defaults in {@link #DEFAULT}.
 *
 * @param zone the anf zone served with authority. Default {@code anf.}
 * @param host the address to listen on, UDP and TCP. Default {@code 127.0.0.1}
 * @param port the port for both; 0 picks a free one, reported by {@link DnsGateway#port()}. Default
 *     8553 (the port {@code anf dev} uses)
 * @param workers threads answering UDP queries. Default 8
 * @param queueCapacity UDP queries waiting for a worker; more are dropped (the client retries).
 *     Default 1024
 * @param maxTcpConnections TCP connections served at once, one thread each; more are closed at
 *     once. Default 64
 * @param tcpIdleTimeout how long a TCP connection may wait for its next query (or the rest of one)
 *     before it is closed. Default 10 s
 * @param maxTcpQueryBytes the largest query accepted over TCP; a longer length prefix closes the
 *     connection. Default 4096
 * @param maxUdpPayloadBytes the cap on an EDNS client's UDP payload size, and the size this server
 *     advertises. Default 4096
 * @param negativeTtlSeconds the negative TTL for names that can never exist and for the apex.
 *     Default 5 (the fabric's default negative TTL)
 * @param resolveOptions how the gateway asks the resolver. Default {@link ResolveOptions#DEFAULT}
 */
public record GatewayConfig(
    String zone,
    String host,
    int port,
    int workers,
    int queueCapacity,
    int maxTcpConnections,
    Duration tcpIdleTimeout,
    int maxTcpQueryBytes,
    int maxUdpPayloadBytes,
    int negativeTtlSeconds,
    ResolveOptions resolveOptions) {
  /** Without EDNS a UDP reply is at most 512 bytes (RFC 1035). */
  public static final int CLASSIC_UDP_PAYLOAD_BYTES = 512;

  public static final GatewayConfig DEFAULT =
      new GatewayConfig(
          AnfZone.DEFAULT_ZONE,
          "127.0.0.1",
          8553,
          8,
          1024,
          64,
          Duration.ofSeconds(10),
          4096,
          4096,
          AnfZone.DEFAULT_NEGATIVE_TTL_SECONDS,
          ResolveOptions.DEFAULT);

  public GatewayConfig {
    check("port", port, 0, 0xFFFF);
    check("workers", workers, 1, 1024);
    check("queueCapacity", queueCapacity, 1, 1 << 20);
    check("maxTcpConnections", maxTcpConnections, 1, 1 << 16);
    check("maxTcpQueryBytes", maxTcpQueryBytes, 12, 0xFFFF);
    check("maxUdpPayloadBytes", maxUdpPayloadBytes, CLASSIC_UDP_PAYLOAD_BYTES, 0xFFFF);
    check("negativeTtlSeconds", negativeTtlSeconds, 0, Integer.MAX_VALUE);
    if (tcpIdleTimeout.isNegative() || tcpIdleTimeout.isZero()) {
      throw AnfException.invalid("tcpIdleTimeout", "must be positive, got " + tcpIdleTimeout);
    }
    // Fails early, with the reason, on a zone that is not a DNS name.
    AnfZone.of(zone, negativeTtlSeconds);
  }

  public AnfZone anfZone() {
    return AnfZone.of(zone, negativeTtlSeconds);
  }

  public GatewayConfig withZone(String z) {
    return new GatewayConfig(
        z,
        host,
        port,
        workers,
        queueCapacity,
        maxTcpConnections,
        tcpIdleTimeout,
        maxTcpQueryBytes,
        maxUdpPayloadBytes,
        negativeTtlSeconds,
        resolveOptions);
  }

  public GatewayConfig withListen(String h, int p) {
    return new GatewayConfig(
        zone,
        h,
        p,
        workers,
        queueCapacity,
        maxTcpConnections,
        tcpIdleTimeout,
        maxTcpQueryBytes,
        maxUdpPayloadBytes,
        negativeTtlSeconds,
        resolveOptions);
  }

  public GatewayConfig withThreads(int udpWorkers, int tcpConnections) {
    return new GatewayConfig(
        zone,
        host,
        port,
        udpWorkers,
        queueCapacity,
        tcpConnections,
        tcpIdleTimeout,
        maxTcpQueryBytes,
        maxUdpPayloadBytes,
        negativeTtlSeconds,
        resolveOptions);
  }

  public GatewayConfig withTcpIdleTimeout(Duration idle) {
    return new GatewayConfig(
        zone,
        host,
        port,
        workers,
        queueCapacity,
        maxTcpConnections,
        idle,
        maxTcpQueryBytes,
        maxUdpPayloadBytes,
        negativeTtlSeconds,
        resolveOptions);
  }

  public GatewayConfig withResolveOptions(ResolveOptions options) {
    return new GatewayConfig(
        zone,
        host,
        port,
        workers,
        queueCapacity,
        maxTcpConnections,
        tcpIdleTimeout,
        maxTcpQueryBytes,
        maxUdpPayloadBytes,
        negativeTtlSeconds,
        options);
  }

  private static void check(String field, int value, int min, int max) {
    if (value < min || value > max) {
      throw AnfException.invalid(field, "must be from " + min + " to " + max + ", got " + value);
    }
  }
}
