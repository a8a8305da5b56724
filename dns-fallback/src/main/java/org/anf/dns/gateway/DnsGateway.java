package org.anf.dns.gateway;

import io.micrometer.core.instrument.MeterRegistry;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.anf.dns.handler.DnsHandler;
import org.anf.dns.handler.Forwarder;
import org.anf.dns.handler.HandlerChain;
import org.anf.dns.handler.Transport;
import org.anf.dns.handler.WouldBlock;
import org.anf.lineage.error.AnfException;
import org.anf.resolver.NameResolver;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.Address;

/**
 * A DNS server on UDP and TCP that answers through a handler chain (by default {@link
 * HandlerChain#standard}: the anf zone, then the legacy forwarder, then REFUSED).
 *
 * <p>Both transports listen on the same host and port; with port 0 a free port is picked for both
 * and reported by {@link #port()}. UDP packets are read by one reader thread per core (at most
 * {@value #MAX_UDP_READERS}), each on its own socket, in batches where the JVM allows ({@link
 * UdpPorts}: {@code recvmmsg}/{@code sendmmsg}). A reader answers a query itself when the answer is
 * in memory (the resolver's cache, the zone's own records): no thread hand-off on the hot path. A
 * query that needs the network (a cache miss, a name for legacy DNS) goes to a bounded pool ({@link
 * GatewayConfig#workers()} threads, {@link GatewayConfig#queueCapacity()} waiting; more are dropped
 * and the client retries), so a slow walk never holds up the readers. Each TCP connection gets one
 * thread of a bounded pool ({@link GatewayConfig#maxTcpConnections()}; more are closed at once) and
 * may carry many length-prefixed queries, answered in order; it is closed after {@link
 * GatewayConfig#tcpIdleTimeout()} without a query, or on a length prefix over {@link
 * GatewayConfig#maxTcpQueryBytes()}.
 *
 * <p>No input stops the server: a malformed packet gets FORMERR or is dropped ({@link
 * QueryProcessor}), a handler failure gets SERVFAIL and a log line, and both loops carry on after
 * any I/O error until {@link #close()}, which releases both ports.
 */
public final class DnsGateway implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(DnsGateway.class);
  private static final int UDP_BUFFER_BYTES = 0xFFFF;
  private static final int BIND_ATTEMPTS = 20;
  private static final long CLOSE_WAIT_MS = 5_000;
  static final int MAX_UDP_READERS = 4;

  private final GatewayConfig config;
  private final QueryProcessor processor;

  /** Answers only from memory, throwing {@link WouldBlock} otherwise; null for a custom chain. */
  private final @Nullable QueryProcessor fast;

  /** Replies rendered before, served again while valid (fast path only); null when off. */
  private final @Nullable PacketCache packets;

  private final GatewayMetrics metrics;

  /**
   * One socket per reader, all on the same port with SO_REUSEPORT (the kernel spreads clients over
   * them, as Knot and CoreDNS listen): readers sharing one socket would take turns to receive.
   * Views of the first, shared, where the option is not available. Batched where the JVM allows
   * ({@link UdpPorts}).
   */
  private final List<UdpPort> udpPorts;

  private final ServerSocket tcp;
  private final ThreadPoolExecutor udpWorkers;
  private final ThreadPoolExecutor tcpWorkers;
  private final List<Thread> udpReaders = new ArrayList<>();
  private final Thread tcpLoop;
  private final Set<Socket> connections = ConcurrentHashMap.newKeySet();
  private final InetSocketAddress address;
  private volatile boolean closed;

  private DnsGateway(
      GatewayConfig config,
      DnsHandler chain,
      @Nullable DnsHandler fastChain,
      @Nullable PacketCache packets,
      MeterRegistry registry,
      List<UdpPort> udpPorts,
      ServerSocket tcp) {
    this.config = config;
    this.metrics = new GatewayMetrics(registry);
    this.processor = new QueryProcessor(chain, config.maxUdpPayloadBytes(), metrics);
    this.fast =
        fastChain == null
            ? null
            : new QueryProcessor(fastChain, config.maxUdpPayloadBytes(), metrics);
    this.packets = fastChain == null ? null : packets;
    this.udpPorts = List.copyOf(udpPorts);
    this.tcp = tcp;
    this.address = this.udpPorts.get(0).localAddress();
    this.udpWorkers =
        new ThreadPoolExecutor(
            config.workers(),
            config.workers(),
            0,
            TimeUnit.MILLISECONDS,
            new ArrayBlockingQueue<>(config.queueCapacity()),
            daemons("anf-dns-udp-worker"));
    this.tcpWorkers =
        new ThreadPoolExecutor(
            config.maxTcpConnections(),
            config.maxTcpConnections(),
            0,
            TimeUnit.MILLISECONDS,
            new SynchronousQueue<>(),
            daemons("anf-dns-tcp-conn"));
    ThreadFactory readerThreads = daemons("anf-dns-udp-reader");
    for (UdpPort own : this.udpPorts) {
      udpReaders.add(readerThreads.newThread(() -> udpLoop(own)));
    }
    this.tcpLoop = daemons("anf-dns-tcp-loop").newThread(this::tcpLoop);
  }

  /**
   * Starts a gateway with the standard chain: the anf zone, then {@code forwarder}, then REFUSED.
   */
  public static DnsGateway start(
      GatewayConfig config,
      NameResolver resolver,
      @Nullable Forwarder forwarder,
      MeterRegistry registry)
      throws IOException {
    DnsHandler chain =
        HandlerChain.standard(config.anfZone(), resolver, config.resolveOptions(), forwarder);
    DnsHandler fastChain =
        HandlerChain.standard(
            config.anfZone(),
            WouldBlock.cacheOnly(resolver),
            config.resolveOptions(),
            forwarder == null ? null : WouldBlock.deferring(forwarder));
    return start(
        config,
        chain,
        fastChain,
        resolver.generation() < 0 ? null : new PacketCache(resolver::generation),
        registry);
  }

  /** Starts a gateway that answers through {@code chain}, every UDP query on the worker pool. */
  public static DnsGateway start(GatewayConfig config, DnsHandler chain, MeterRegistry registry)
      throws IOException {
    return start(config, chain, null, null, registry);
  }

  private static DnsGateway start(
      GatewayConfig config,
      DnsHandler chain,
      @Nullable DnsHandler fastChain,
      @Nullable PacketCache packets,
      MeterRegistry registry)
      throws IOException {
    InetAddress host = literal(config.host());
    for (int attempt = 1; ; attempt++) {
      List<UdpPort> ports;
      ServerSocket tcp = new ServerSocket();
      try {
        ports =
            UdpPorts.open(new InetSocketAddress(host, config.port()), readers(), UDP_BUFFER_BYTES);
      } catch (IOException e) {
        tcp.close();
        if (config.port() == 0 && e instanceof BindException && attempt < BIND_ATTEMPTS) {
          continue;
        }
        throw cannotListen(config, e);
      }
      try {
        tcp.setReuseAddress(true);
        tcp.bind(new InetSocketAddress(host, ports.get(0).localAddress().getPort()), 128);
      } catch (IOException e) {
        ports.forEach(UdpPort::close);
        tcp.close();
        // With port 0 the free UDP port may be taken for TCP: pick another.
        if (config.port() == 0 && e instanceof BindException && attempt < BIND_ATTEMPTS) {
          continue;
        }
        throw cannotListen(config, e);
      }
      DnsGateway g = new DnsGateway(config, chain, fastChain, packets, registry, ports, tcp);
      g.udpReaders.forEach(Thread::start);
      g.tcpLoop.start();
      log.info(
          "dns gateway listening on {}:{} (udp, tcp), zone {}; {} UDP reader(s): {}",
          config.host(),
          g.port(),
          config.anfZone().text(),
          ports.size(),
          ports.get(0).describe());
      return g;
    }
  }

  private static IOException cannotListen(GatewayConfig config, IOException e) {
    return new IOException(
        "dns gateway: cannot listen on "
            + config.host()
            + ":"
            + config.port()
            + ": "
            + e.getMessage(),
        e);
  }

  /** The port both transports listen on (the one picked when the configured port was 0). */
  public int port() {
    return address.getPort();
  }

  /** The bound address and port, still known after {@link #close()}. */
  public InetSocketAddress address() {
    return address;
  }

  public GatewayConfig config() {
    return config;
  }

  /** Stops both listeners, closes every connection and waits for the threads to end. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    udpPorts.forEach(UdpPort::close);
    closeQuietly(tcp);
    connections.forEach(DnsGateway::closeQuietly);
    udpWorkers.shutdownNow();
    tcpWorkers.shutdownNow();
    try {
      for (Thread t : udpReaders) {
        t.join(CLOSE_WAIT_MS);
      }
      tcpLoop.join(CLOSE_WAIT_MS);
      if (!udpWorkers.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)
          || !tcpWorkers.awaitTermination(CLOSE_WAIT_MS, TimeUnit.MILLISECONDS)) {
        log.warn("dns gateway: worker threads still running {} ms after close", CLOSE_WAIT_MS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    log.info("dns gateway on {}:{} closed", config.host(), address.getPort());
  }

  /** UDP reader threads: one per core, at most {@link #MAX_UDP_READERS}. */
  private static int readers() {
    return Math.max(1, Math.min(MAX_UDP_READERS, Runtime.getRuntime().availableProcessors()));
  }

  private void udpLoop(UdpPort port) {
    byte[] buffer = new byte[UDP_BUFFER_BYTES];
    QueryProcessor.Rendered about = new QueryProcessor.Rendered();
    while (!closed) {
      int n;
      try {
        n = port.receive();
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          log.warn("dns gateway: UDP receive failed, carrying on: {}", e.toString());
        }
        continue;
      }
      for (int i = 0; i < n; i++) {
        try {
          answerInline(port, i, buffer, about);
        } catch (RejectedExecutionException e) {
          metrics.dropped(Transport.UDP, closed ? "closing" : "overloaded");
        } catch (IOException | RuntimeException e) {
          if (!closed) {
            log.warn("dns gateway: UDP reply failed, carrying on: {}", e.toString());
          }
        }
      }
      try {
        port.flush();
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          log.warn("dns gateway: UDP replies failed, carrying on: {}", e.toString());
        }
      }
    }
  }

  /**
   * Answers datagram {@code i} of the batch on the reader thread when memory has the answer (the
   * packet cache, then the fast chain); otherwise hands it to the worker pool.
   */
  private void answerInline(UdpPort port, int i, byte[] buffer, QueryProcessor.Rendered about)
      throws IOException {
    int length = port.datagram(i, buffer);
    PacketCache cache = packets;
    if (cache != null) {
      long start = System.nanoTime();
      PacketCache.Hit hit = cache.lookup(buffer, 0, length, start);
      if (hit != null) {
        port.reply(i, hit.reply());
        metrics.answered(Transport.UDP, hit.rcode(), System.nanoTime() - start);
        return;
      }
    }
    byte[] packet = Arrays.copyOf(buffer, length);
    QueryProcessor inline = fast;
    if (inline == null) {
      SocketAddress from = port.sender(i);
      udpWorkers.execute(() -> answerUdp(port, packet, from));
      return;
    }
    byte[] reply;
    long generation = cache == null ? 0 : cache.generation();
    try {
      reply = inline.process(packet, Transport.UDP, about);
    } catch (WouldBlock e) {
      SocketAddress from = port.sender(i);
      udpWorkers.execute(() -> answerUdp(port, packet, from));
      return;
    }
    if (reply != null) {
      port.reply(i, reply);
      if (cache != null) {
        cache.store(packet, reply, generation, System.nanoTime(), about.stale);
      }
    }
  }

  private void answerUdp(UdpPort port, byte[] packet, SocketAddress from) {
    try {
      byte[] reply = processor.process(packet, Transport.UDP);
      if (reply != null) {
        port.send(reply, from);
      }
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        log.warn("dns gateway: UDP reply to {} failed: {}", from, e.toString());
      }
    }
  }

  private void tcpLoop() {
    while (!closed) {
      Socket s;
      try {
        s = tcp.accept();
      } catch (IOException | RuntimeException e) {
        if (!closed) {
          log.warn("dns gateway: TCP accept failed, carrying on: {}", e.toString());
        }
        continue;
      }
      try {
        tcpWorkers.execute(() -> serveConnection(s));
      } catch (RejectedExecutionException e) {
        metrics.dropped(Transport.TCP, closed ? "closing" : "connections");
        closeQuietly(s);
      }
    }
  }

  private void serveConnection(Socket s) {
    connections.add(s);
    try (s) {
      // close() may have run between accept and here; it sets closed before closing connections.
      if (closed) {
        return;
      }
      s.setSoTimeout((int) Math.min(Integer.MAX_VALUE, config.tcpIdleTimeout().toMillis()));
      s.setTcpNoDelay(true);
      DataInputStream in = new DataInputStream(new BufferedInputStream(s.getInputStream()));
      OutputStream out = new BufferedOutputStream(s.getOutputStream());
      while (!closed && serveOne(in, out)) {
        // one length-prefixed query per turn
      }
    } catch (SocketTimeoutException e) {
      log.debug("dns gateway: TCP connection {} idle, closed", s.getRemoteSocketAddress());
    } catch (IOException | RuntimeException e) {
      if (!closed) {
        log.debug(
            "dns gateway: TCP connection {} ended: {}", s.getRemoteSocketAddress(), e.toString());
      }
    } finally {
      connections.remove(s);
    }
  }

  /** Reads and answers one query; false when the connection is to be closed. */
  private boolean serveOne(DataInputStream in, OutputStream out) throws IOException {
    int length;
    try {
      length = in.readUnsignedShort();
    } catch (EOFException e) {
      return false;
    }
    if (length > config.maxTcpQueryBytes()) {
      metrics.dropped(Transport.TCP, "too_large");
      return false;
    }
    byte[] packet = new byte[length];
    in.readFully(packet);
    byte[] reply = processor.process(packet, Transport.TCP);
    if (reply != null) {
      out.write(reply.length >>> 8);
      out.write(reply.length & 0xFF);
      out.write(reply);
      out.flush();
    }
    return true;
  }

  private static InetAddress literal(String host) throws IOException {
    byte[] ip = Address.toByteArray(host, Address.IPv4);
    if (ip == null) {
      ip = Address.toByteArray(host, Address.IPv6);
    }
    if (ip == null) {
      throw AnfException.invalid(
          "host", "'" + host + "' must be an IP literal (the gateway never looks names up)");
    }
    return InetAddress.getByAddress(ip);
  }

  private static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      log.debug("dns gateway: close failed: {}", e.toString());
    }
  }

  private static ThreadFactory daemons(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
