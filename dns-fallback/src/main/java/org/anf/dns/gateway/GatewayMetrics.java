package org.anf.dns.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.anf.dns.handler.Transport;
import org.xbill.DNS.Rcode;

/**
 * The gateway's meters: {@code anf_dns_queries{rcode,transport}} for every reply sent, {@code
 * anf_dns_query_latency{transport}} from packet to reply, and {@code
 * anf_dns_dropped{reason,transport}} for packets given no reply (too short, a response, the queue
 * full, a TCP length over the limit, a connection over the limit).
 */
final class GatewayMetrics {
  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();
  private final Map<Transport, Timer> latency = new ConcurrentHashMap<>();

  GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  void answered(Transport t, int rcode, long nanos) {
    String rc = Rcode.string(rcode);
    counters
        .computeIfAbsent(
            "q/" + rc + "/" + t,
            k ->
                Counter.builder("anf_dns_queries")
                    .description("DNS replies sent by the gateway, by rcode")
                    .tag("rcode", rc)
                    .tag("transport", t.tag())
                    .register(registry))
        .increment();
    latency
        .computeIfAbsent(
            t,
            k ->
                Timer.builder("anf_dns_query_latency")
                    .description("Time from a query packet to its reply")
                    .tag("transport", t.tag())
                    .register(registry))
        .record(nanos, TimeUnit.NANOSECONDS);
  }

  void dropped(Transport t, String reason) {
    counters
        .computeIfAbsent(
            "d/" + reason + "/" + t,
            k ->
                Counter.builder("anf_dns_dropped")
                    .description("DNS packets the gateway gave no reply")
                    .tag("reason", reason)
                    .tag("transport", t.tag())
                    .register(registry))
        .increment();
  }
}
