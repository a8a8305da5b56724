package org.anf.lineage.crypto;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * SHA-256 through the JDK's provider, whose implementation the JIT replaces with the CPU's SHA
 * instructions where it has them (several times faster than a Java implementation; hashing is on
 * every replica's apply path).
 */
public final class Sha256 {
  public static final int LENGTH = 32;

  // MessageDigest.getInstance costs a provider lookup; one reusable instance per thread.
  private static final ThreadLocal<MessageDigest> DIGEST = ThreadLocal.withInitial(Sha256::create);

  private Sha256() {}

  private static MessageDigest create() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  public static byte[] hash(byte[]... parts) {
    MessageDigest d = DIGEST.get();
    d.reset();
    for (byte[] p : parts) {
      d.update(p);
    }
    return d.digest();
  }

  /**
   * A growable buffer for canonical encoders, hashed in one call at {@link #finish}: feeding a
   * digest byte by byte costs more than the hash itself.
   */
  public static final class Buffer {
    private byte[] buf = new byte[256];
    private int size;

    private void room(int n) {
      if (size + n > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, size + n));
      }
    }

    public Buffer u8(int v) {
      room(1);
      buf[size++] = (byte) v;
      return this;
    }

    public Buffer u32(int v) {
      room(4);
      buf[size++] = (byte) (v >>> 24);
      buf[size++] = (byte) (v >>> 16);
      buf[size++] = (byte) (v >>> 8);
      buf[size++] = (byte) v;
      return this;
    }

    public Buffer u64(long v) {
      room(8);
      for (int i = 56; i >= 0; i -= 8) {
        buf[size++] = (byte) (v >>> i);
      }
      return this;
    }

    public Buffer raw(byte[] b) {
      room(b.length);
      System.arraycopy(b, 0, buf, size, b.length);
      size += b.length;
      return this;
    }

    public Buffer raw(com.google.protobuf.ByteString b) {
      room(b.size());
      b.copyTo(buf, size);
      size += b.size();
      return this;
    }

    /** The SHA-256 of everything written. */
    public byte[] finish() {
      MessageDigest d = DIGEST.get();
      d.reset();
      d.update(buf, 0, size);
      return d.digest();
    }
  }
}
