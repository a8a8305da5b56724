package org.anf.dns.gateway;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * A {@link UdpPort} on the JDK's {@link DatagramSocket}: batches of one, each answer sent at once.
 * Readers that share a socket (where SO_REUSEPORT is missing) each get their own port object over
 * it, so that each has its own buffer.
 */
final class JdkUdpPort implements UdpPort {
  private final DatagramSocket socket;
  private final byte[] buffer;
  private final DatagramPacket packet;

  JdkUdpPort(DatagramSocket socket, int bufferBytes) {
    this.socket = socket;
    this.buffer = new byte[bufferBytes];
    this.packet = new DatagramPacket(buffer, buffer.length);
  }

  /** Another reader's view of the same socket. */
  JdkUdpPort sharing() {
    return new JdkUdpPort(socket, buffer.length);
  }

  @Override
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) socket.getLocalSocketAddress();
  }

  @Override
  public int receive() throws IOException {
    packet.setData(buffer);
    socket.receive(packet);
    return 1;
  }

  @Override
  public int datagram(int i, byte[] into) {
    int length = Math.min(packet.getLength(), into.length);
    System.arraycopy(buffer, packet.getOffset(), into, 0, length);
    return length;
  }

  @Override
  public SocketAddress sender(int i) {
    return packet.getSocketAddress();
  }

  @Override
  public void reply(int i, byte[] reply) throws IOException {
    // The packet still holds the sender's address from receive.
    packet.setData(reply);
    socket.send(packet);
  }

  @Override
  public void flush() {
    // every reply has gone already
  }

  @Override
  public void send(byte[] datagram, SocketAddress to) throws IOException {
    socket.send(new DatagramPacket(datagram, datagram.length, to));
  }

  @Override
  public String describe() {
    return "JDK sockets, one datagram per system call";
  }

  @Override
  public void close() {
    socket.close();
  }
}
