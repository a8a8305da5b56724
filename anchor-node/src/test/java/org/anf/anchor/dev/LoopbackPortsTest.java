package org.anf.anchor.dev;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {
  @Test
  void portsAreDistinctBindableAndOutsideTheEphemeralRange() throws Exception {
    int low = LoopbackPorts.ephemeralLow();
    assertThat(low).isGreaterThan(1024);
    Set<Integer> seen = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      int p = LoopbackPorts.reserve();
      assertThat(seen.add(p)).as("port %d handed out twice", p).isTrue();
      if (low > 11_000) {
        assertThat(p).isBetween(10_000, low - 1);
      }
      try (ServerSocket s = new ServerSocket()) {
        s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), p));
        assertThat(s.getLocalPort()).isEqualTo(p);
      }
    }
  }
}
