package org.anf.dns.gateway;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.TestFabric;
import org.anf.proto.v1.LookupResult;
import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The UDP fast path over real sockets: an answer the resolver holds in memory is given by a reader
 * thread without calling {@code resolve}, and a query whose walk is stuck never holds up one that
 * is cached.
 */
class GatewayFastPathIT {
  TestFabric f;
  MemoryResolver resolver;
  DnsGateway gateway;
  DnsClient dns;
  ExecutorService pool = Executors.newCachedThreadPool();

  @BeforeEach
  void start() throws IOException {
    f = new TestFabric(11);
    f.bind(f.svc, "svc@demo/hello", ep("192.0.2.10", 8080));
    f.bind(f.svc, "svc@demo/slow", ep("192.0.2.20", 8080));
    resolver = new MemoryResolver(f.resolver);
    gateway =
        DnsGateway.start(
            GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
            resolver,
            null,
            new SimpleMeterRegistry());
    dns = new DnsClient(gateway.port());
  }

  @AfterEach
  void stop() {
    resolver.release.countDown();
    gateway.close();
    pool.shutdownNow();
  }

  @Test
  void aHitIsAnsweredFromMemoryByAReaderAndAMissByAWorker() throws IOException {
    Message first = dns.udp("hello.demo.svc.anf.", Type.A);
    assertThat(addresses(first)).containsExactly("192.0.2.10");
    assertThat(resolver.resolves.get()).isEqualTo(1);
    assertThat(resolver.resolvedOn).startsWith("anf-dns-udp-worker");

    Message second = dns.udp("hello.demo.svc.anf.", Type.A);
    assertThat(addresses(second)).containsExactly("192.0.2.10");
    assertThat(resolver.resolves.get()).as("a hit never walks").isEqualTo(1);
    assertThat(resolver.hitOn).startsWith("anf-dns-udp-reader");
  }

  @Test
  void aStuckWalkDoesNotHoldUpACachedAnswer() throws Exception {
    dns.udp("hello.demo.svc.anf.", Type.A);
    resolver.stuck = "svc@demo/slow";
    // More stuck walks than there are readers, each over UDP with a patient client: were misses
    // walked on the readers, none would be left to answer the cached name.
    byte[] query = DnsClient.query("slow.demo.svc.anf.", Type.A).toWire();
    List<CompletableFuture<byte @Nullable []>> slow = new ArrayList<>();
    for (int i = 0; i < DnsGateway.MAX_UDP_READERS; i++) {
      slow.add(
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return dns.rawUdp(query, Duration.ofSeconds(60));
                } catch (IOException e) {
                  throw new IllegalStateException(e);
                }
              },
              pool));
    }
    assertThat(resolver.entered.await(30, TimeUnit.SECONDS)).isTrue();
    Message cached = dns.udp("hello.demo.svc.anf.", Type.A);
    assertThat(addresses(cached)).containsExactly("192.0.2.10");
    assertThat(slow).noneMatch(CompletableFuture::isDone);
    resolver.release.countDown();
    for (CompletableFuture<byte @Nullable []> f : slow) {
      byte[] reply = f.get(60, TimeUnit.SECONDS);
      assertThat(reply).as("a slow query is answered once its walk ends").isNotNull();
      Message late = new Message(reply);
      assertThat(late.getRcode()).isEqualTo(Rcode.NOERROR);
      assertThat(addresses(late)).containsExactly("192.0.2.20");
    }
  }

  /**
   * With a resolver that reports its generation, a repeated query is answered from the reply
   * rendered for it before (the resolver is not asked), with the new query's ID; once the
   * generation moves (an invalidation), it is answered afresh.
   */
  @Test
  void aRepeatedQueryGetsTheRenderedReplyUntilTheGenerationMoves() throws IOException {
    gateway.close();
    resolver.generations = true;
    gateway =
        DnsGateway.start(
            GatewayConfig.DEFAULT.withListen("127.0.0.1", 0),
            resolver,
            null,
            new SimpleMeterRegistry());
    dns = new DnsClient(gateway.port());
    byte[] query = DnsClient.query("hello.demo.svc.anf.", Type.A).toWire();
    dns.udp("hello.demo.svc.anf.", Type.A); // a miss: walked by a worker
    dns.udp("hello.demo.svc.anf.", Type.A); // a hit: answered from memory, reply kept
    assertThat(resolver.hits.get()).isEqualTo(1);
    for (int id : new int[] {4242, 7}) {
      query[0] = (byte) (id >>> 8);
      query[1] = (byte) id;
      byte[] raw = java.util.Objects.requireNonNull(dns.rawUdp(query, Duration.ofSeconds(5)));
      Message m = new Message(raw);
      assertThat(m.getHeader().getID()).isEqualTo(id);
      assertThat(addresses(m)).containsExactly("192.0.2.10");
    }
    assertThat(resolver.hits.get()).as("served from the kept reply").isEqualTo(1);
    assertThat(resolver.resolves.get()).isEqualTo(1);

    resolver.memory.clear();
    resolver.generation.incrementAndGet();
    assertThat(addresses(dns.udp("hello.demo.svc.anf.", Type.A))).containsExactly("192.0.2.10");
    assertThat(resolver.resolves.get()).as("asked again once the generation moved").isEqualTo(2);
  }

  private static List<String> addresses(Message m) {
    return m.getSection(Section.ANSWER).stream()
        .filter(r -> r.getType() == Type.A)
        .map(Record::rdataToString)
        .toList();
  }

  /**
   * A resolver with a memory: what it resolved once it answers from memory, as the real resolver's
   * cache does. A walk for the name in {@code stuck} waits on {@code release}.
   */
  static final class MemoryResolver implements NameResolver {
    final NameResolver walk;
    final Map<String, LookupResult> memory = new ConcurrentHashMap<>();
    final AtomicInteger resolves = new AtomicInteger();
    final CountDownLatch entered = new CountDownLatch(DnsGateway.MAX_UDP_READERS);
    final CountDownLatch release = new CountDownLatch(1);
    volatile @Nullable String stuck;
    volatile String resolvedOn = "";
    volatile String hitOn = "";
    final AtomicInteger hits = new AtomicInteger();
    final java.util.concurrent.atomic.AtomicLong generation =
        new java.util.concurrent.atomic.AtomicLong();
    volatile boolean generations;

    MemoryResolver(NameResolver walk) {
      this.walk = walk;
    }

    @Override
    public LookupResult resolve(String name, ResolveOptions options) {
      resolves.incrementAndGet();
      resolvedOn = Thread.currentThread().getName();
      if (name.equals(stuck)) {
        entered.countDown();
        try {
          release.await(60, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      LookupResult r = walk.resolve(name, options);
      memory.put(name, r);
      return r;
    }

    @Override
    public @Nullable LookupResult cachedOrNull(String name, ResolveOptions options) {
      LookupResult r = memory.get(name);
      if (r != null) {
        hitOn = Thread.currentThread().getName();
        hits.incrementAndGet();
      }
      return r;
    }

    @Override
    public long generation() {
      return generations ? generation.get() : -1;
    }
  }
}
