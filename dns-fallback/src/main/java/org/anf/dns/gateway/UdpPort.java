package org.anf.dns.gateway;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * One UDP socket of the gateway as its reader thread sees it: datagrams arrive in batches, each is
 * answered by index, and the answers of a batch leave together on {@link #flush()}. The JDK's
 * sockets give batches of one ({@link JdkUdpPort}); on Linux, with the JVM's foreign linker
 * enabled, {@code BatchedUdpPort} reads and writes many per system call with {@code
 * recvmmsg}/{@code sendmmsg}, as Knot DNS does.
 *
 * <p>{@link #receive}, {@link #datagram}, {@link #sender}, {@link #reply} and {@link #flush} belong
 * to the port's one reader thread; {@link #send} and {@link #close} may be called from any thread.
 */
interface UdpPort extends AutoCloseable {
  /** The bound address and port. */
  InetSocketAddress localAddress();

  /**
   * Waits for datagrams and returns how many the batch holds: at least one, or 0 when the wait was
   * cut short (a timeout, a signal, {@link #close()}).
   */
  int receive() throws IOException;

  /** Copies datagram {@code i} of the batch into {@code into}; returns its length. */
  int datagram(int i, byte[] into);

  /** Where datagram {@code i} came from, for an answer sent later with {@link #send}. */
  SocketAddress sender(int i) throws IOException;

  /** Answers datagram {@code i}: sent now, or held for {@link #flush()}. */
  void reply(int i, byte[] reply) throws IOException;

  /** Sends the answers {@link #reply} held back. */
  void flush() throws IOException;

  /** Sends one datagram now; for answers worked out off the reader thread. */
  void send(byte[] datagram, SocketAddress to) throws IOException;

  /** How this port does its I/O, for the gateway's start-up line. */
  String describe();

  /** Wakes the reader and releases the socket; idempotent. */
  @Override
  void close();
}
