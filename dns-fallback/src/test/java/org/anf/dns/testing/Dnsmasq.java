package org.anf.dns.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/**
 * A real dnsmasq (Debian package dnsmasq-base) on a free loopback port, answering only from its
 * command-line configuration (no resolv.conf, no hosts file, no upstream), with every query logged
 * to stderr, which this fixture keeps for tests to read.
 */
public final class Dnsmasq implements AutoCloseable {
  private static final List<String> CANDIDATES =
      List.of("/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(10);

  private final Process process;
  private final int port;
  private final List<String> log = new CopyOnWriteArrayList<>();
  private final Thread reader;

  private Dnsmasq(String binary, int port, List<String> config) throws IOException {
    this.port = port;
    List<String> cmd = new ArrayList<>();
    cmd.add(binary);
    cmd.addAll(
        List.of(
            // Not --no-daemon: in that mode dnsmasq serves a TCP connection inline and stops
            // answering UDP until the client closes it.
            "--keep-in-foreground",
            "--port=" + port,
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--conf-file=/dev/null",
            "--pid-file=",
            "--log-queries",
            "--log-facility=-"));
    cmd.addAll(config);
    process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    reader = new Thread(this::readLog, "dnsmasq-log-" + port);
    reader.setDaemon(true);
    reader.start();
  }

  /** Starts dnsmasq with extra options ({@code --address=/allowed.test/192.0.2.7}, ...). */
  public static Dnsmasq start(String... config) throws IOException {
    String binary = binary();
    for (int attempt = 1; ; attempt++) {
      Dnsmasq d = new Dnsmasq(binary, Ports.freeUdpAndTcpPort(), List.of(config));
      if (d.awaitReady()) {
        return d;
      }
      d.close();
      boolean raced = d.log.stream().anyMatch(l -> l.contains("Address already in use"));
      if (!raced || attempt == 5) {
        throw new AssertionError("dnsmasq did not start:\n" + String.join("\n", d.log));
      }
    }
  }

  public int port() {
    return port;
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(Ports.LOOPBACK, port);
  }

  public String hostPort() {
    return "127.0.0.1:" + port;
  }

  public List<String> log() {
    return List.copyOf(log);
  }

  /** Lines logging a query for exactly {@code name} (dnsmasq logs names without the final dot). */
  public List<String> queriesFor(String name) {
    String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    List<String> out = new ArrayList<>();
    for (String l : log) {
      if (l.contains("query[") && l.contains("] " + n + " from ")) {
        out.add(l);
      }
    }
    return out;
  }

  public void awaitQueryLogged(String name) {
    Await.until(
        Duration.ofSeconds(10),
        () -> !queriesFor(name).isEmpty(),
        () -> "dnsmasq to log a query for " + name + "; log:\n" + String.join("\n", log));
  }

  @Override
  public void close() {
    // dnsmasq forks a child per TCP connection, and dnsjava keeps its connections open. The
    // children ignore SIGTERM (they end on their own alarm), so kill them first: dnsmasq, still
    // running, then reaps them and no zombie is left behind.
    List<ProcessHandle> children = process.descendants().toList();
    children.forEach(ProcessHandle::destroyForcibly);
    Await.until(
        Duration.ofSeconds(5),
        () -> children.stream().noneMatch(ProcessHandle::isAlive) || !process.isAlive(),
        () -> "dnsmasq's TCP children " + children + " to end");
    process.destroy();
    try {
      if (!process.waitFor(5, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private boolean awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    SimpleResolver probe = new SimpleResolver(address());
    probe.setTimeout(Duration.ofMillis(200));
    while (process.isAlive() && System.nanoTime() - deadline < 0) {
      try {
        probe.send(
            Message.newQuery(
                Record.newRecord(
                    Name.fromConstantString("ready.probe.invalid."), Type.A, DClass.IN)));
        return true;
      } catch (IOException e) {
        // Not listening yet: the probe times out or is refused; ask again.
      }
    }
    return false;
  }

  private void readLog() {
    try (BufferedReader r =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = r.readLine(); line != null; line = r.readLine()) {
        log.add(line);
      }
    } catch (IOException e) {
      log.add("(log reader stopped: " + e + ")");
    }
  }

  private static String binary() {
    for (String c : CANDIDATES) {
      if (Files.isExecutable(Path.of(c))) {
        return c;
      }
    }
    throw new AssertionError(
        "dnsmasq not found at " + CANDIDATES + ": install dnsmasq-base (see .ci/run)");
  }
}
