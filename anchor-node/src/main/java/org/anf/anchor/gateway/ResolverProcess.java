package org.anf.anchor.gateway;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.metrics.MetricsServer;
import org.anf.dns.fallback.DnsFallback;
import org.anf.dns.gateway.DnsGateway;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.service.ResolverServiceImpl;
import org.jspecify.annotations.Nullable;

/**
 * A running resolver: the library, its gRPC service, and optionally the DNS gateway and legacy DNS
 * fallback, sharing one metrics registry. {@code anf resolver} and {@code anf dev} start one.
 */
public final class ResolverProcess implements AutoCloseable {
  private final AnfResolver resolver;
  private final ResolverServiceImpl service;
  private final Server server;
  private final HealthStatusManager health = new HealthStatusManager();
  private final @Nullable DnsGateway gateway;
  private final @Nullable MetricsServer metrics;

  private ResolverProcess(ResolverProcessConfig c) throws IOException {
    MetricsServer ms =
        c.metricsPort() >= 0 ? new MetricsServer(c.listenHost(), c.metricsPort()) : null;
    MeterRegistry registry = ms != null ? ms.registry() : new SimpleMeterRegistry();
    DnsFallback fallback = c.fallback() != null ? new DnsFallback(c.fallback(), registry) : null;
    AnfResolver r = new AnfResolver(c.resolver(), fallback, registry);
    ResolverServiceImpl svc = new ResolverServiceImpl(r);
    Server s = null;
    DnsGateway g = null;
    try {
      s =
          NettyServerBuilder.forAddress(new InetSocketAddress(c.listenHost(), c.listenPort()))
              // Cache hits are answered on the transport thread; the service hands every call
              // that may wait on anchors to its own pool.
              .directExecutor()
              .addService(svc)
              .addService(health.getHealthService())
              .addService(ProtoReflectionServiceV1.newInstance())
              .build()
              .start();
      if (c.dns() != null) {
        g = DnsGateway.start(c.dns(), r, fallback, registry);
      }
    } catch (IOException | RuntimeException e) {
      if (s != null) {
        s.shutdownNow();
      }
      svc.close();
      r.close();
      if (ms != null) {
        ms.close();
      }
      throw e;
    }
    this.resolver = r;
    this.service = svc;
    this.server = s;
    this.gateway = g;
    this.metrics = ms;
  }

  public static ResolverProcess start(ResolverProcessConfig c) {
    try {
      return new ResolverProcess(c);
    } catch (IOException e) {
      throw new AnfException(ErrorCode.UNAVAILABLE, "resolver cannot start: " + e.getMessage(), e);
    }
  }

  public AnfResolver resolver() {
    return resolver;
  }

  public String address() {
    InetSocketAddress a = (InetSocketAddress) server.getListenSockets().get(0);
    return a.getHostString() + ":" + a.getPort();
  }

  /** The DNS gateway's port, or -1 when none runs. */
  public int dnsPort() {
    DnsGateway g = gateway;
    return g == null ? -1 : g.port();
  }

  public List<String> describe() {
    List<String> out = new ArrayList<>();
    out.add("resolver   grpc " + address() + "  (anf.v1.ResolverService)");
    if (gateway != null) {
      out.add(
          "dns        udp+tcp 127.0.0.1:"
              + dnsPort()
              + "  try: dig @127.0.0.1 -p "
              + dnsPort()
              + " hello.demo.svc.anf");
    }
    if (metrics != null) {
      out.add("resolver   metrics http://" + metrics.address() + "/metrics");
    }
    return out;
  }

  @Override
  public void close() {
    health.enterTerminalState();
    if (gateway != null) {
      gateway.close();
    }
    server.shutdown();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server.shutdownNow();
    service.close();
    resolver.close();
    if (metrics != null) {
      metrics.close();
    }
  }
}
