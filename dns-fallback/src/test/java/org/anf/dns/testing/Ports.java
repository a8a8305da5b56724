package org.anf.dns.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.UnknownHostException;

/** Loopback addresses and free ports for servers started by tests. */
public final class Ports {
  public static final InetAddress LOOPBACK = loopback();

  private Ports() {}

  /** A port free for both UDP and TCP on 127.0.0.1 right now (bound to port 0, then closed). */
  public static int freeUdpAndTcpPort() throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      try (DatagramSocket udp = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
          ServerSocket tcp = new ServerSocket()) {
        tcp.bind(new InetSocketAddress(LOOPBACK, udp.getLocalPort()));
        return udp.getLocalPort();
      } catch (BindException e) {
        // The UDP port is taken for TCP: try another.
      }
    }
    throw new IOException("no port free for both UDP and TCP on 127.0.0.1 after 50 tries");
  }

  private static InetAddress loopback() {
    try {
      return InetAddress.getByAddress(new byte[] {127, 0, 0, 1});
    } catch (UnknownHostException e) {
      throw new UncheckedIOException(e);
    }
  }
}
