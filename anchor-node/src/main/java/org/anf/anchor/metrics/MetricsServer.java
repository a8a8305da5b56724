package org.anf.anchor.metrics;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.jspecify.annotations.Nullable;

/** A Prometheus registry and its {@code /metrics} endpoint on loopback. */
public final class MetricsServer implements AutoCloseable {
  private final PrometheusMeterRegistry registry =
      new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  private final @Nullable HttpServer http;

  /**
   * @param port 0 picks a free port, a negative port disables the endpoint (the registry still
   *     counts)
   */
  public MetricsServer(String host, int port) {
    if (port < 0) {
      http = null;
      return;
    }
    try {
      http = HttpServer.create(new InetSocketAddress(host, port), 16);
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "cannot listen for metrics on " + host + ":" + port + ": " + e.getMessage());
    }
    http.createContext(
        "/metrics",
        exchange -> {
          byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
          exchange
              .getResponseHeaders()
              .add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    http.setExecutor(null);
    http.start();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** "host:port" of the endpoint, or "" when disabled. */
  public String address() {
    return http == null
        ? ""
        : http.getAddress().getHostString() + ":" + http.getAddress().getPort();
  }

  @Override
  public void close() {
    if (http != null) {
      http.stop(0);
    }
    registry.close();
  }
}
