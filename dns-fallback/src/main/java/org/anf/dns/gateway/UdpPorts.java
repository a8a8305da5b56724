package org.anf.dns.gateway;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens the gateway's UDP sockets: batched ({@code recvmmsg}/{@code sendmmsg}) where the JVM allows
 * it, the JDK's sockets otherwise.
 *
 * <p>Batching needs Linux (x86-64 or AArch64) and a JVM started with {@code --add-modules
 * jdk.incubator.foreign --enable-native-access=ALL-UNNAMED}, as {@code bin/anf} starts {@code anf
 * dev} and {@code anf resolver}. Without them, or with {@code -Danf.dns.udp.batched=false}, the
 * gateway reads with the JDK's sockets, one datagram per system call, and says so once at start.
 */
final class UdpPorts {
  private static final Logger log = LoggerFactory.getLogger(UdpPorts.class);

  /** The system property that turns batching off ({@code false}). */
  static final String PROPERTY = "anf.dns.udp.batched";

  static final String JVM_OPTIONS =
      "--add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED";

  /** Opens one batched socket; implemented where the foreign linker is compiled in. */
  interface Factory {
    UdpPort open(InetSocketAddress at, int bufferBytes) throws IOException;
  }

  private static final @Nullable Factory BATCHED;
  private static final String WHY_NOT;

  static {
    Factory f = null;
    String why = "";
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "");
    if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("aarch64"))) {
      why = "batched UDP is built for Linux on x86-64 and AArch64, not " + os + " " + arch;
    } else if (ModuleLayer.boot().findModule("jdk.incubator.foreign").isEmpty()) {
      why = "the JVM was started without " + JVM_OPTIONS;
    } else {
      try {
        f =
            Class.forName("org.anf.dns.gateway.BatchedUdpPort$Linked")
                .asSubclass(Factory.class)
                .getDeclaredConstructor()
                .newInstance();
      } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
        // IllegalCallerException (a RuntimeException) when native access is not enabled.
        why =
            "the foreign linker is not usable ("
                + rootMessage(e)
                + "); start the JVM with "
                + JVM_OPTIONS;
      }
    }
    BATCHED = f;
    WHY_NOT = why;
  }

  private UdpPorts() {}

  /** Whether {@link #open} gives batched ports in this JVM. */
  static boolean batchedAvailable() {
    return BATCHED != null;
  }

  /**
   * Opens up to {@code readers} sockets on {@code at} (port 0: a free port, then the others on the
   * same one), each for one reader thread. Batched when available, unless the system property
   * {@value #PROPERTY} is {@code false}.
   */
  static List<UdpPort> open(InetSocketAddress at, int readers, int bufferBytes) throws IOException {
    boolean wanted = !"false".equals(System.getProperty(PROPERTY));
    if (!wanted || BATCHED == null) {
      if (wanted) {
        warnOnce();
      }
      return openJdk(at, readers, bufferBytes);
    }
    return openBatched(at, readers, bufferBytes);
  }

  /** As {@link #open}, batched; fails when this JVM cannot batch. */
  static List<UdpPort> openBatched(InetSocketAddress at, int readers, int bufferBytes)
      throws IOException {
    Factory batched = BATCHED;
    if (batched == null) {
      throw new IOException("batched UDP is not available: " + WHY_NOT);
    }
    List<UdpPort> ports = new ArrayList<>();
    ports.add(batched.open(at, bufferBytes));
    InetSocketAddress bound = ports.get(0).localAddress();
    for (int i = 1; i < readers; i++) {
      try {
        ports.add(batched.open(bound, bufferBytes));
      } catch (IOException e) {
        log.debug("dns gateway: {} UDP socket(s) on the port: {}", ports.size(), e.toString());
        break;
      }
    }
    return ports;
  }

  private static volatile boolean warned;

  private static void warnOnce() {
    if (!warned) {
      warned = true;
      log.info("dns gateway: UDP is read and answered one datagram per system call: {}", WHY_NOT);
    }
  }

  /** As {@link #open}, on the JDK's sockets. */
  static List<UdpPort> openJdk(InetSocketAddress at, int readers, int bufferBytes)
      throws IOException {
    List<UdpPort> ports = new ArrayList<>();
    DatagramSocket first = new DatagramSocket(null);
    boolean reusePort = reusePort(first);
    try {
      first.setReceiveBufferSize(1 << 20);
      first.bind(at);
    } catch (IOException e) {
      first.close();
      throw e;
    }
    JdkUdpPort firstPort = new JdkUdpPort(first, bufferBytes);
    ports.add(firstPort);
    InetSocketAddress bound = firstPort.localAddress();
    for (int i = 1; i < readers; i++) {
      if (!reusePort) {
        // Readers take turns on the one socket.
        ports.add(firstPort.sharing());
        continue;
      }
      DatagramSocket more = new DatagramSocket(null);
      try {
        if (!reusePort(more)) {
          throw new IOException("SO_REUSEPORT refused");
        }
        more.setReceiveBufferSize(1 << 20);
        more.bind(bound);
        ports.add(new JdkUdpPort(more, bufferBytes));
      } catch (IOException e) {
        more.close();
        log.debug("dns gateway: readers share one UDP socket: {}", e.toString());
        reusePort = false;
        ports.add(firstPort.sharing());
      }
    }
    return ports;
  }

  /** Sets SO_REUSEPORT where the platform has it; false where it does not. */
  private static boolean reusePort(DatagramSocket s) {
    try {
      if (!s.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)) {
        return false;
      }
      s.setOption(StandardSocketOptions.SO_REUSEPORT, true);
      return true;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.toString();
  }
}
