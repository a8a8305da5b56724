package org.anf.dns.testing;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TextParseException;

/** Queries a DNS server on 127.0.0.1 with dnsjava, or with raw packets over UDP and TCP. */
public final class DnsClient {
  public static final Duration TIMEOUT = Duration.ofSeconds(3);

  private final int port;

  public DnsClient(int port) {
    this.port = port;
  }

  public static Message query(String name, int type) {
    return query(name, type, DClass.IN);
  }

  public static Message query(String name, int type, int dclass) {
    try {
      return Message.newQuery(Record.newRecord(Name.fromString(name), type, dclass));
    } catch (TextParseException e) {
      throw new IllegalArgumentException(name, e);
    }
  }

  /** Over UDP without EDNS, seeing truncated answers as they are (no TCP retry). */
  public Message udp(String name, int type) throws IOException {
    return send(query(name, type), false, -1);
  }

  /** Over UDP with EDNS and the given payload size, no TCP retry. */
  public Message udpEdns(String name, int type, int payloadSize) throws IOException {
    return send(query(name, type), false, payloadSize);
  }

  public Message tcp(String name, int type) throws IOException {
    return send(query(name, type), true, -1);
  }

  public Message send(Message query, boolean tcp, int ednsPayload) throws IOException {
    SimpleResolver r = new SimpleResolver(new InetSocketAddress(Ports.LOOPBACK, port));
    r.setTimeout(TIMEOUT);
    r.setTCP(tcp);
    r.setIgnoreTruncation(true);
    if (ednsPayload < 0) {
      r.setEDNS(-1, 0, 0, List.of());
    } else {
      r.setEDNS(0, ednsPayload, 0, List.of());
    }
    return r.send(query);
  }

  /** Sends raw bytes over UDP; the reply, or null when none came within {@code wait}. */
  public byte @Nullable [] rawUdp(byte[] packet, Duration wait) throws IOException {
    try (DatagramSocket s = new DatagramSocket()) {
      s.connect(new InetSocketAddress(Ports.LOOPBACK, port));
      s.setSoTimeout((int) wait.toMillis());
      s.send(new DatagramPacket(packet, packet.length));
      byte[] buf = new byte[0xFFFF];
      DatagramPacket p = new DatagramPacket(buf, buf.length);
      try {
        s.receive(p);
      } catch (SocketTimeoutException e) {
        return null;
      }
      return java.util.Arrays.copyOf(buf, p.getLength());
    }
  }

  /** Sends one raw query over a new TCP connection and reads one reply (null at end of stream). */
  public byte @Nullable [] rawTcp(byte[] packet) throws IOException {
    try (Socket s = connect(TIMEOUT)) {
      writeFramed(s, packet);
      return readFramed(s);
    }
  }

  /** Opens a TCP connection to the server, with {@code readTimeout} on reads. */
  public Socket connect(Duration readTimeout) throws IOException {
    Socket s = new Socket(Ports.LOOPBACK, port);
    s.setSoTimeout((int) readTimeout.toMillis());
    s.setTcpNoDelay(true);
    return s;
  }

  public static void writeFramed(Socket s, byte[] packet) throws IOException {
    // One write: the prefix alone would wait on a delayed ACK (Nagle).
    byte[] framed = new byte[packet.length + 2];
    framed[0] = (byte) (packet.length >>> 8);
    framed[1] = (byte) packet.length;
    System.arraycopy(packet, 0, framed, 2, packet.length);
    OutputStream out = s.getOutputStream();
    out.write(framed);
    out.flush();
  }

  /** Reads one length-prefixed message; null at end of stream. */
  public static byte @Nullable [] readFramed(Socket s) throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    int hi = in.read();
    if (hi < 0) {
      return null;
    }
    int length = (hi << 8) | in.readUnsignedByte();
    byte[] b = new byte[length];
    in.readFully(b);
    return b;
  }

  /** The OPT record of a reply, or null. */
  public static @Nullable OPTRecord opt(Message m) {
    for (Record r : m.getSection(Section.ADDITIONAL)) {
      if (r instanceof OPTRecord o) {
        return o;
      }
    }
    return null;
  }
}
