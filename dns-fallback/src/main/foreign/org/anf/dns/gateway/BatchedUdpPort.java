package org.anf.dns.gateway;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodType;
import java.lang.ref.Reference;
import java.net.BindException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import jdk.incubator.foreign.CLinker;
import jdk.incubator.foreign.FunctionDescriptor;
import jdk.incubator.foreign.MemoryAccess;
import jdk.incubator.foreign.MemoryAddress;
import jdk.incubator.foreign.MemoryLayout;
import jdk.incubator.foreign.MemorySegment;
import jdk.incubator.foreign.ResourceScope;

/**
 * A {@link UdpPort} that reads up to {@value #BATCH} datagrams per {@code recvmmsg} call and sends
 * a batch's answers with one {@code sendmmsg} call, through the JDK 17 foreign linker (libc, no
 * native code of ours). On loopback under dnsperf this halves the CPU per query of the JDK's
 * one-datagram-per-call sockets: the system calls, not the packets, were most of the cost.
 *
 * <p>Compiled apart from the rest of the module (src/main/foreign, with {@code --add-modules
 * jdk.incubator.foreign}) and loaded by name by {@link UdpPorts} only when the JVM allows it, so
 * the rest of the gateway neither needs nor sees the incubator module. The struct layouts are those
 * of Linux on LP64 (x86-64, AArch64), which {@link UdpPorts} checks before loading this class.
 */
final class BatchedUdpPort implements UdpPort {
  static final int BATCH = 16;

  private static final int AF_INET = 2;
  private static final int AF_INET6 = 10;
  private static final int SOCK_DGRAM = 2;
  private static final int SOCK_CLOEXEC = 0x80000;
  private static final int SOL_SOCKET = 1;
  private static final int SO_RCVBUF = 8;
  private static final int SO_REUSEPORT = 15;
  private static final int SO_RCVTIMEO = 20;
  private static final int SHUT_RD = 0;
  private static final int MSG_WAITFORONE = 0x10000;
  private static final int EINTR = 4;
  private static final int EAGAIN = 11;
  private static final int EADDRINUSE = 98;

  /** struct mmsghdr: struct msghdr (56 bytes) then unsigned msg_len, padded to 64. */
  private static final int MMSGHDR = 64;

  private static final int MSG_NAME = 0;
  private static final int MSG_NAMELEN = 8;
  private static final int MSG_IOV = 16;
  private static final int MSG_IOVLEN = 24;
  private static final int MSG_LEN = 56;

  /** struct iovec: base pointer, size_t length. */
  private static final int IOVEC = 16;

  /** Room for a struct sockaddr_in6 (28 bytes), rounded up. */
  private static final int NAME = 32;

  /** Replies longer than this go out on their own with sendto. */
  private static final int SEND_SLOT = 4096;

  /** How long a receive waits before the reader looks at its closed flag again. */
  private static final long RECEIVE_TIMEOUT_MICROS = 250_000;

  private static final MethodHandle SOCKET;
  private static final MethodHandle SETSOCKOPT;
  private static final MethodHandle BIND;
  private static final MethodHandle GETSOCKNAME;
  private static final MethodHandle RECVMMSG;
  private static final MethodHandle SENDMMSG;
  private static final MethodHandle SENDTO;
  private static final MethodHandle SHUTDOWN;
  private static final MethodHandle CLOSE;
  private static final MethodHandle ERRNO_LOCATION;
  private static final MethodHandle STRERROR;

  static {
    CLinker c = CLinker.getInstance();
    SOCKET = handle(c, "socket", CLinker.C_INT, CLinker.C_INT, CLinker.C_INT, CLinker.C_INT);
    SETSOCKOPT =
        handle(
            c,
            "setsockopt",
            CLinker.C_INT,
            CLinker.C_INT,
            CLinker.C_INT,
            CLinker.C_INT,
            CLinker.C_POINTER,
            CLinker.C_INT);
    BIND = handle(c, "bind", CLinker.C_INT, CLinker.C_INT, CLinker.C_POINTER, CLinker.C_INT);
    GETSOCKNAME =
        handle(
            c, "getsockname", CLinker.C_INT, CLinker.C_INT, CLinker.C_POINTER, CLinker.C_POINTER);
    RECVMMSG =
        handle(
            c,
            "recvmmsg",
            CLinker.C_INT,
            CLinker.C_INT,
            CLinker.C_POINTER,
            CLinker.C_INT,
            CLinker.C_INT,
            CLinker.C_POINTER);
    SENDMMSG =
        handle(
            c,
            "sendmmsg",
            CLinker.C_INT,
            CLinker.C_INT,
            CLinker.C_POINTER,
            CLinker.C_INT,
            CLinker.C_INT);
    SENDTO =
        handle(
            c,
            "sendto",
            CLinker.C_LONG,
            CLinker.C_INT,
            CLinker.C_POINTER,
            CLinker.C_LONG,
            CLinker.C_INT,
            CLinker.C_POINTER,
            CLinker.C_INT);
    SHUTDOWN = handle(c, "shutdown", CLinker.C_INT, CLinker.C_INT, CLinker.C_INT);
    CLOSE = handle(c, "close", CLinker.C_INT, CLinker.C_INT);
    ERRNO_LOCATION = handle(c, "__errno_location", CLinker.C_POINTER);
    STRERROR = handle(c, "strerror", CLinker.C_POINTER, CLinker.C_INT);
  }

  /** Loaded by name from {@link UdpPorts}; its construction links every function above. */
  static final class Linked implements UdpPorts.Factory {
    @Override
    public UdpPort open(InetSocketAddress at, int bufferBytes) throws IOException {
      return new BatchedUdpPort(at, bufferBytes);
    }
  }

  private final int fd;
  private final int family;
  private final int slotBytes;
  private final InetSocketAddress local;

  /**
   * Freed by the garbage collector once the port is unreachable, not on close: the reader may still
   * be copying its last batch when another thread closes, and a shared scope refuses to close then.
   */
  private final ResourceScope scope = ResourceScope.newImplicitScope();

  private final MemorySegment recvHeaders;
  private final MemorySegment sendHeaders;
  private final MemorySegment sendIovecs;
  private final MemoryAddress recvHeadersAt;
  private final MemoryAddress sendHeadersAt;
  private final MemoryAddress namesAt;
  private final ByteBuffer recvView;
  private final ByteBuffer sendView;
  private final ByteBuffer namesView;

  /** Native calls hold it shared; close holds it alone, so no call runs on a closed descriptor. */
  private final ReentrantReadWriteLock io = new ReentrantReadWriteLock();

  private boolean closed;
  private int received;
  private int pending;

  private BatchedUdpPort(InetSocketAddress at, int slotBytes) throws IOException {
    this.slotBytes = slotBytes;
    this.family = at.getAddress() instanceof Inet4Address ? AF_INET : AF_INET6;
    int s = (int) call(() -> (int) SOCKET.invokeExact(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (s < 0) {
      throw new SocketException("socket: " + lastError());
    }
    this.fd = s;
    try {
      MemorySegment opt = MemorySegment.allocateNative(16, 8, scope);
      MemoryAccess.setIntAtOffset(opt, 0, 1);
      setOption(SO_REUSEPORT, opt, 4, "SO_REUSEPORT");
      MemoryAccess.setIntAtOffset(opt, 0, 1 << 20);
      setOption(SO_RCVBUF, opt, 4, "SO_RCVBUF");
      MemoryAccess.setLongAtOffset(opt, 0, 0);
      MemoryAccess.setLongAtOffset(opt, 8, RECEIVE_TIMEOUT_MICROS);
      setOption(SO_RCVTIMEO, opt, 16, "SO_RCVTIMEO");

      MemorySegment name = MemorySegment.allocateNative(NAME, 8, scope);
      int nameLength = writeSockaddr(name, at);
      int r = (int) call(() -> (int) BIND.invokeExact(fd, name.address(), nameLength));
      if (r != 0) {
        int errno = errno();
        String message = at + ": " + strerror(errno);
        throw errno == EADDRINUSE ? new BindException(message) : new SocketException(message);
      }
      MemorySegment length = MemorySegment.allocateNative(4, 4, scope);
      MemoryAccess.setIntAtOffset(length, 0, NAME);
      r = (int) call(() -> (int) GETSOCKNAME.invokeExact(fd, name.address(), length.address()));
      if (r != 0) {
        throw new SocketException("getsockname: " + lastError());
      }
      this.local = readSockaddr(name.asByteBuffer(), 0);

      recvHeaders = MemorySegment.allocateNative((long) MMSGHDR * BATCH, 8, scope);
      sendHeaders = MemorySegment.allocateNative((long) MMSGHDR * BATCH, 8, scope);
      MemorySegment recvIovecs = MemorySegment.allocateNative((long) IOVEC * BATCH, 8, scope);
      sendIovecs = MemorySegment.allocateNative((long) IOVEC * BATCH, 8, scope);
      MemorySegment names = MemorySegment.allocateNative((long) NAME * BATCH, 8, scope);
      MemorySegment recvSlots = MemorySegment.allocateNative((long) slotBytes * BATCH, 8, scope);
      MemorySegment sendSlots = MemorySegment.allocateNative((long) SEND_SLOT * BATCH, 8, scope);
      recvHeadersAt = recvHeaders.address();
      sendHeadersAt = sendHeaders.address();
      namesAt = names.address();
      recvView = recvSlots.asByteBuffer();
      namesView = names.asByteBuffer();
      sendView = sendSlots.asByteBuffer();
      for (int i = 0; i < BATCH; i++) {
        long h = (long) MMSGHDR * i;
        long v = (long) IOVEC * i;
        MemoryAccess.setAddressAtOffset(
            recvIovecs, v, recvSlots.address().addOffset((long) slotBytes * i));
        MemoryAccess.setLongAtOffset(recvIovecs, v + 8, slotBytes);
        MemoryAccess.setAddressAtOffset(
            recvHeaders, h + MSG_NAME, namesAt.addOffset((long) NAME * i));
        MemoryAccess.setAddressAtOffset(
            recvHeaders, h + MSG_IOV, recvIovecs.address().addOffset(v));
        MemoryAccess.setLongAtOffset(recvHeaders, h + MSG_IOVLEN, 1);
        MemoryAccess.setAddressAtOffset(
            sendIovecs, v, sendSlots.address().addOffset((long) SEND_SLOT * i));
        MemoryAccess.setAddressAtOffset(
            sendHeaders, h + MSG_IOV, sendIovecs.address().addOffset(v));
        MemoryAccess.setLongAtOffset(sendHeaders, h + MSG_IOVLEN, 1);
      }
    } catch (IOException | RuntimeException e) {
      call(() -> (int) CLOSE.invokeExact(fd));
      throw e;
    }
  }

  @Override
  public InetSocketAddress localAddress() {
    return local;
  }

  @Override
  public int receive() throws IOException {
    io.readLock().lock();
    try {
      if (closed) {
        throw new ClosedChannelException();
      }
      for (int i = 0; i < BATCH; i++) {
        // The kernel writes each sender's address length here; it must start as the room there is.
        MemoryAccess.setIntAtOffset(recvHeaders, (long) MMSGHDR * i + MSG_NAMELEN, NAME);
      }
      pending = 0;
      received = 0;
      int n;
      try {
        n =
            (int)
                RECVMMSG.invokeExact(fd, recvHeadersAt, BATCH, MSG_WAITFORONE, MemoryAddress.NULL);
      } catch (Throwable t) {
        throw bug(t);
      }
      if (n < 0) {
        int errno = errno();
        if (errno == EAGAIN || errno == EINTR) {
          return 0;
        }
        throw new SocketException("recvmmsg: " + strerror(errno));
      }
      received = n;
      return n;
    } finally {
      io.readLock().unlock();
      // The calls got raw addresses: the scope that owns them must outlive the calls.
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public int datagram(int i, byte[] into) {
    check(i);
    int length = MemoryAccess.getIntAtOffset(recvHeaders, (long) MMSGHDR * i + MSG_LEN);
    length = Math.min(length, Math.min(slotBytes, into.length));
    recvView.get(slotBytes * i, into, 0, length);
    return length;
  }

  @Override
  public SocketAddress sender(int i) throws IOException {
    check(i);
    return readSockaddr(namesView, NAME * i);
  }

  @Override
  public void reply(int i, byte[] reply) throws IOException {
    check(i);
    if (reply.length > SEND_SLOT) {
      send(reply, sender(i));
      return;
    }
    int j = pending++;
    sendView.put(SEND_SLOT * j, reply, 0, reply.length);
    long h = (long) MMSGHDR * j;
    MemoryAccess.setAddressAtOffset(sendHeaders, h + MSG_NAME, namesAt.addOffset((long) NAME * i));
    MemoryAccess.setIntAtOffset(
        sendHeaders,
        h + MSG_NAMELEN,
        MemoryAccess.getIntAtOffset(recvHeaders, (long) MMSGHDR * i + MSG_NAMELEN));
    MemoryAccess.setLongAtOffset(sendIovecs, (long) IOVEC * j + 8, reply.length);
  }

  @Override
  public void flush() throws IOException {
    if (pending == 0) {
      return;
    }
    io.readLock().lock();
    try {
      if (closed) {
        throw new ClosedChannelException();
      }
      int sent = 0;
      int lost = 0;
      int lastErrno = 0;
      while (sent < pending) {
        int from = sent;
        int n;
        try {
          n =
              (int)
                  SENDMMSG.invokeExact(
                      fd, sendHeadersAt.addOffset((long) MMSGHDR * from), pending - from, 0);
        } catch (Throwable t) {
          throw bug(t);
        }
        if (n > 0) {
          sent += n;
          continue;
        }
        lastErrno = n < 0 ? errno() : 0;
        if (lastErrno != EINTR) {
          // The first unsent answer cannot go; drop it (the client asks again) and go on. Never
          // retried on anything but EINTR, so the loop ends.
          sent++;
          lost++;
        }
      }
      if (lost > 0) {
        throw new SocketException(
            "sendmmsg: " + lost + " of " + pending + " answers not sent: " + strerror(lastErrno));
      }
    } finally {
      pending = 0;
      io.readLock().unlock();
      // The calls got raw addresses: the scope that owns them must outlive the calls.
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public void send(byte[] datagram, SocketAddress to) throws IOException {
    if (!(to instanceof InetSocketAddress)) {
      throw new SocketException("not an IP socket address: " + to);
    }
    io.readLock().lock();
    try (ResourceScope call = ResourceScope.newConfinedScope()) {
      if (closed) {
        throw new ClosedChannelException();
      }
      MemorySegment data = MemorySegment.allocateNative(Math.max(1, datagram.length), call);
      data.asByteBuffer().put(datagram);
      MemorySegment name = MemorySegment.allocateNative(NAME, 8, call);
      int nameLength = writeSockaddr(name, (InetSocketAddress) to);
      long n =
          (long)
              call(
                  () ->
                      (long)
                          SENDTO.invokeExact(
                              fd,
                              data.address(),
                              (long) datagram.length,
                              0,
                              name.address(),
                              nameLength));
      if (n < 0) {
        throw new SocketException("sendto " + to + ": " + lastError());
      }
    } finally {
      io.readLock().unlock();
      // The calls got raw addresses: the scope that owns them must outlive the calls.
      Reference.reachabilityFence(this);
    }
  }

  @Override
  public String describe() {
    return "recvmmsg/sendmmsg, up to " + BATCH + " datagrams per system call";
  }

  /**
   * Wakes a reader blocked in {@code recvmmsg} (shutdown makes it return at once), waits for calls
   * in flight, then closes the descriptor. The buffers go with the port, to the garbage collector.
   */
  @Override
  public void close() {
    io.readLock().lock();
    try {
      if (closed) {
        return;
      }
      call(() -> (int) SHUTDOWN.invokeExact(fd, SHUT_RD));
    } finally {
      io.readLock().unlock();
      // The calls got raw addresses: the scope that owns them must outlive the calls.
      Reference.reachabilityFence(this);
    }
    io.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      call(() -> (int) CLOSE.invokeExact(fd));
    } finally {
      io.writeLock().unlock();
    }
  }

  private void check(int i) {
    if (i < 0 || i >= received) {
      throw new IndexOutOfBoundsException("datagram " + i + " of a batch of " + received);
    }
  }

  private void setOption(int option, MemorySegment value, int length, String what)
      throws SocketException {
    int r =
        (int)
            call(
                () ->
                    (int) SETSOCKOPT.invokeExact(fd, SOL_SOCKET, option, value.address(), length));
    if (r != 0) {
      throw new SocketException("setsockopt " + what + ": " + lastError());
    }
  }

  /** Writes {@code at} as a sockaddr of this socket's family; returns its length. */
  private int writeSockaddr(MemorySegment name, InetSocketAddress at) throws SocketException {
    InetAddress a = at.getAddress();
    ByteBuffer b = name.asByteBuffer();
    b.order(ByteOrder.nativeOrder()).putShort(0, (short) family);
    b.order(ByteOrder.BIG_ENDIAN).putShort(2, (short) at.getPort());
    if (family == AF_INET) {
      if (!(a instanceof Inet4Address)) {
        throw new SocketException("an IPv4 socket cannot send to " + at);
      }
      b.put(4, a.getAddress(), 0, 4);
      b.putLong(8, 0);
      return 16;
    }
    byte[] ip = a.getAddress();
    if (a instanceof Inet4Address) {
      // An IPv6 socket reaches IPv4 peers at their IPv4-mapped address.
      ip =
          new byte[] {
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xFF, (byte) 0xFF, ip[0], ip[1], ip[2], ip[3]
          };
    }
    b.putInt(4, 0);
    b.put(8, ip, 0, 16);
    b.order(ByteOrder.nativeOrder())
        .putInt(24, a instanceof Inet6Address ? ((Inet6Address) a).getScopeId() : 0);
    return 28;
  }

  private static InetSocketAddress readSockaddr(ByteBuffer names, int at) throws SocketException {
    ByteBuffer name = names.duplicate().order(ByteOrder.nativeOrder());
    int family = name.getShort(at);
    int port = (name.get(at + 2) & 0xFF) << 8 | (name.get(at + 3) & 0xFF);
    try {
      if (family == AF_INET) {
        byte[] ip = new byte[4];
        name.get(at + 4, ip);
        return new InetSocketAddress(InetAddress.getByAddress(ip), port);
      }
      if (family == AF_INET6) {
        byte[] ip = new byte[16];
        name.get(at + 8, ip);
        int scope = name.getInt(at + 24);
        return new InetSocketAddress(Inet6Address.getByAddress(null, ip, scope), port);
      }
    } catch (java.net.UnknownHostException e) {
      throw new SocketException("bad socket address: " + e.getMessage());
    }
    throw new SocketException("socket address of family " + family);
  }

  /** errno of the last call on this thread; good for messages, read right after the call. */
  private static int errno() {
    MemoryAddress at = (MemoryAddress) call(() -> (MemoryAddress) ERRNO_LOCATION.invokeExact());
    return MemoryAccess.getInt(at.asSegment(4, ResourceScope.globalScope()));
  }

  private static String strerror(int errno) {
    MemoryAddress s = (MemoryAddress) call(() -> (MemoryAddress) STRERROR.invokeExact(errno));
    return CLinker.toJavaString(s) + " (errno " + errno + ")";
  }

  private static String lastError() {
    return strerror(errno());
  }

  @FunctionalInterface
  private interface NativeCall {
    Object run() throws Throwable;
  }

  /** A downcall's handle has exact types: anything it throws is a bug, not an I/O error. */
  private static RuntimeException bug(Throwable t) {
    if (t instanceof RuntimeException) {
      return (RuntimeException) t;
    }
    if (t instanceof Error) {
      throw (Error) t;
    }
    return new IllegalStateException(t);
  }

  /** Runs a downcall off the hot path. */
  private static Object call(NativeCall c) {
    try {
      return c.run();
    } catch (Throwable t) {
      throw bug(t);
    }
  }

  private static MethodHandle handle(
      CLinker c, String name, MemoryLayout result, MemoryLayout... args) {
    Class<?>[] types = new Class<?>[args.length];
    for (int i = 0; i < args.length; i++) {
      types[i] = carrier(args[i]);
    }
    return c.downcallHandle(
        CLinker.systemLookup()
            .lookup(name)
            .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name)),
        MethodType.methodType(carrier(result), types),
        FunctionDescriptor.of(result, args));
  }

  private static Class<?> carrier(MemoryLayout layout) {
    if (layout == CLinker.C_POINTER) {
      return MemoryAddress.class;
    }
    if (layout == CLinker.C_LONG) {
      return long.class;
    }
    return int.class;
  }
}
