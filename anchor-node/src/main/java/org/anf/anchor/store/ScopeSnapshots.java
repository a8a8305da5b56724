package org.anf.anchor.store;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;

/**
 * A scope's snapshot file: the scope's whole key range (lineage included) and the Raft (term,
 * index) it reflects, checked by a SHA-256 footer. Ratis sends this file to a follower that fell
 * behind the purged log; the follower drops its range and loads the file.
 *
 * <pre>
 * "ANFSNAP1" u64 scope u64 term u64 index
 * then per key: u32 key length, key, u32 value length, value   (u32 0xFFFFFFFF ends the list)
 * then 32 bytes SHA-256 of everything before
 * </pre>
 */
public final class ScopeSnapshots {
  private static final byte[] MAGIC =
      "ANFSNAP1".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final int END = 0xFFFFFFFF;

  private ScopeSnapshots() {}

  public static String fileName(long term, long index) {
    return "snapshot." + term + "_" + index + ".anf";
  }

  /** Parses (term, index) from a file name written by {@link #fileName}, or null. */
  public static NodeStore.@org.jspecify.annotations.Nullable Applied parseName(String name) {
    if (!name.startsWith("snapshot.") || !name.endsWith(".anf")) {
      return null;
    }
    String mid = name.substring("snapshot.".length(), name.length() - ".anf".length());
    int us = mid.indexOf('_');
    if (us < 0) {
      return null;
    }
    try {
      return new NodeStore.Applied(
          Long.parseLong(mid.substring(0, us)), Long.parseLong(mid.substring(us + 1)));
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** A snapshot file written: its size, and the writing thread's wall and CPU time. */
  public record Written(long bytes, long wallMs, long cpuMs) {}

  /**
   * Writes the scope's range as {@code view} froze it to {@code file} atomically (temp file, fsync,
   * rename).
   */
  public static Written write(NodeStore.ScopeView view, Path file) {
    java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
    long cpu = mx.getCurrentThreadCpuTime();
    long started = System.nanoTime();
    long scope = view.scope();
    NodeStore.Applied at = view.applied();
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try {
      MessageDigest sha = sha256();
      try (OutputStream raw = Files.newOutputStream(tmp);
          DigestOutputStream digest = new DigestOutputStream(raw, sha);
          // Buffered above the digest, so that it hashes 64 KiB at a time, not a field at a time.
          DataOutputStream out = new DataOutputStream(new BufferedOutputStream(digest, 1 << 16))) {
        out.write(MAGIC);
        out.writeLong(scope);
        out.writeLong(at.term());
        out.writeLong(at.index());
        IOException[] failed = {null};
        view.scan(
            true,
            (k, v) -> {
              try {
                out.writeInt(k.length);
                out.write(k);
                out.writeInt(v.length);
                out.write(v);
                return true;
              } catch (IOException e) {
                failed[0] = e;
                return false;
              }
            });
        if (failed[0] != null) {
          throw failed[0];
        }
        out.writeInt(END);
        out.flush();
        digest.on(false);
        out.write(sha.digest());
        out.flush();
      }
      try (var ch =
          java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      return new Written(
          Files.size(file),
          (System.nanoTime() - started) / 1_000_000,
          (mx.getCurrentThreadCpuTime() - cpu) / 1_000_000);
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.INTERNAL, "cannot write snapshot " + file + ": " + e.getMessage(), e);
    }
  }

  /** The contents of a snapshot file, verified against its footer. */
  public record Contents(
      long scope, NodeStore.Applied at, List<byte[]> keys, List<byte[]> values) {}

  public static Contents read(Path file) {
    try (InputStream raw = Files.newInputStream(file)) {
      MessageDigest sha = sha256();
      DigestInputStream digest = new DigestInputStream(new BufferedInputStream(raw, 1 << 16), sha);
      DataInputStream in = new DataInputStream(digest);
      byte[] magic = in.readNBytes(MAGIC.length);
      if (!Arrays.equals(magic, MAGIC)) {
        throw corrupt(file, "not an anf snapshot");
      }
      long scope = in.readLong();
      NodeStore.Applied at = new NodeStore.Applied(in.readLong(), in.readLong());
      List<byte[]> keys = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      while (true) {
        int kl = in.readInt();
        if (kl == END) {
          break;
        }
        if (kl < 0 || kl > (1 << 20)) {
          throw corrupt(file, "key length " + kl);
        }
        keys.add(in.readNBytes(kl));
        int vl = in.readInt();
        if (vl < 0 || vl > (64 << 20)) {
          throw corrupt(file, "value length " + vl);
        }
        values.add(in.readNBytes(vl));
      }
      digest.on(false);
      byte[] expected = sha.digest();
      byte[] footer = in.readNBytes(32);
      if (!Arrays.equals(expected, footer)) {
        throw corrupt(file, "checksum mismatch");
      }
      return new Contents(scope, at, keys, values);
    } catch (EOFException e) {
      throw corrupt(file, "truncated");
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.INTERNAL, "cannot read snapshot " + file + ": " + e.getMessage(), e);
    }
  }

  private static AnfException corrupt(Path file, String why) {
    return new AnfException(ErrorCode.CORRUPTION, "snapshot " + file + " is damaged: " + why);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
