package org.anf.dns.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.anf.dns.handler.Transport;
import org.xbill.DNS.Rcode;

/**
 * The gateway's meters: {@code anf_dns_queries{rcode,transport}} for every reply sent, {@code
 * anf_dns_query_latency{transport}} from packet to reply, and {@code
 * anf_dns_dropped{reason,transport}} for packets given no reply (too short, a response, the queue
 * full, a TCP length over the limit, a connection over the limit).
 */
final class GatewayMetrics {
  /** RCODEs that fit the header's four bits get a slot; extended ones go through the map. */
  private static final int HEADER_RCODES = 16;

  private final MeterRegistry registry;
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  // Every reply passes here, on the readers' hot path: no key strings, no map lookups.
  private final AtomicReferenceArray<Counter> queries =
      new AtomicReferenceArray<>(2 * HEADER_RCODES);
  private final Timer[] latency = new Timer[2];

  GatewayMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (Transport t : Transport.values()) {
      latency[slot(t)] =
          Timer.builder("anf_dns_query_latency")
              .description("Time from a query packet to its reply")
              .tag("transport", t.tag())
              .register(registry);
    }
  }

  void answered(Transport t, int rcode, long nanos) {
    if (rcode >= 0 && rcode < HEADER_RCODES) {
      int slot = slot(t) * HEADER_RCODES + rcode;
      Counter c = queries.get(slot);
      if (c == null) {
        c = queryCounter(t, rcode);
        queries.set(slot, c); // registering twice returns the same meter
      }
      c.increment();
    } else {
      counters.computeIfAbsent("q/" + rcode + "/" + t, k -> queryCounter(t, rcode)).increment();
    }
    latency[slot(t)].record(nanos, TimeUnit.NANOSECONDS);
  }

  private static int slot(Transport t) {
    return t == Transport.UDP ? 0 : 1;
  }

  private Counter queryCounter(Transport t, int rcode) {
    return Counter.builder("anf_dns_queries")
        .description("DNS replies sent by the gateway, by rcode")
        .tag("rcode", Rcode.string(rcode))
        .tag("transport", t.tag())
        .register(registry);
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
