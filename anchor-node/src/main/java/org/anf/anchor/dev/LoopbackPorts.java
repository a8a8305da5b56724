package org.anf.anchor.dev;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;

/**
 * Loopback ports for embedded fabrics, which must know every anchor's port before any binds (peers
 * list each other's addresses) and bring a restarted anchor back on the same one.
 *
 * <p>A port the OS hands out for port 0 comes from the ephemeral range, the same range outgoing
 * connections draw from, so between choosing it and binding it another connection of this JVM could
 * take it. These ports are chosen below that range (where the OS never puts a connection's local
 * end), checked bindable, and never handed out twice in one process.
 */
public final class LoopbackPorts {
  private static final int LOWEST = 10_000;
  private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
  // Starting from the pid keeps concurrent test JVMs apart without a random choice.
  private static long cursor = ProcessHandle.current().pid() * 7919L;

  private LoopbackPorts() {}

  /** A port on 127.0.0.1 that is free now and was not handed out before in this process. */
  public static synchronized int reserve() {
    int high = ephemeralLow();
    int span = high - LOWEST;
    if (span < 1_000) {
      return osChosen();
    }
    for (int tries = 0; tries < span; tries++) {
      int p = LOWEST + (int) Math.floorMod(cursor++, (long) span);
      if (!HANDED_OUT.contains(p) && bindable(p)) {
        HANDED_OUT.add(p);
        return p;
      }
    }
    return osChosen();
  }

  /** The first port of the OS's ephemeral range (Linux's setting; the IANA range elsewhere). */
  static int ephemeralLow() {
    Path f = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    try {
      // Read as a stream: procfs reports a size of 0, which whole-file reads trust.
      try (var in = Files.newBufferedReader(f, StandardCharsets.US_ASCII)) {
        String line = in.readLine();
        return line == null ? 49_152 : Integer.parseInt(line.trim().split("\\s+")[0]);
      }
    } catch (IOException | RuntimeException e) {
      return 49_152;
    }
  }

  private static boolean bindable(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(false);
      s.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int osChosen() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new AnfException(ErrorCode.UNAVAILABLE, "no free port: " + e.getMessage());
    }
  }
}
