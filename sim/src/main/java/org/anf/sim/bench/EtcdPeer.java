package org.anf.sim.bench;

import com.google.protobuf.CodedOutputStream;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCalls;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.dev.LoopbackPorts;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;

/**
 * A 3-member etcd cluster (Debian's etcd-server, 3.4) on loopback, started by the benchmark so that
 * its figures come from the same session, machine and client loop as anf's. Puts go over etcd's own
 * gRPC API ({@code etcdserverpb.KV/Put}), encoded by hand: key and value only.
 */
final class EtcdPeer implements AutoCloseable {
  private final Path dir;
  private final List<Process> members = new ArrayList<>();
  private final List<String> clientUrls = new ArrayList<>();

  private static final MethodDescriptor<byte[], byte[]> PUT =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName("etcdserverpb.KV/Put")
          .setRequestMarshaller(new Bytes())
          .setResponseMarshaller(new Bytes())
          .build();

  EtcdPeer(Path dir) throws IOException, InterruptedException {
    this.dir = dir;
    if (!Files.isExecutable(Path.of("/usr/bin/etcd"))) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "etcd is not installed: apt-get install -y etcd-server etcd-client");
    }
    int[] client = {LoopbackPorts.reserve(), LoopbackPorts.reserve(), LoopbackPorts.reserve()};
    int[] peer = {LoopbackPorts.reserve(), LoopbackPorts.reserve(), LoopbackPorts.reserve()};
    StringBuilder initial = new StringBuilder();
    for (int i = 0; i < 3; i++) {
      initial
          .append(i == 0 ? "" : ",")
          .append("e")
          .append(i)
          .append("=http://127.0.0.1:")
          .append(peer[i]);
    }
    for (int i = 0; i < 3; i++) {
      String c = "http://127.0.0.1:" + client[i];
      String p = "http://127.0.0.1:" + peer[i];
      clientUrls.add("127.0.0.1:" + client[i]);
      members.add(
          new ProcessBuilder(
                  "/usr/bin/etcd",
                  "--name",
                  "e" + i,
                  "--data-dir",
                  dir.resolve("e" + i).toString(),
                  "--listen-client-urls",
                  c,
                  "--advertise-client-urls",
                  c,
                  "--listen-peer-urls",
                  p,
                  "--initial-advertise-peer-urls",
                  p,
                  "--initial-cluster",
                  initial.toString(),
                  "--initial-cluster-state",
                  "new",
                  "--initial-cluster-token",
                  "anf-bench",
                  "--quota-backend-bytes",
                  "4294967296",
                  "--logger",
                  "zap",
                  "--log-outputs",
                  dir.resolve("e" + i + ".log").toString())
              .redirectErrorStream(true)
              .redirectOutput(dir.resolve("e" + i + ".out").toFile())
              .start());
    }
    awaitHealthy();
  }

  List<String> endpoints() {
    return clientUrls;
  }

  private void awaitHealthy() throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    ManagedChannel ch = channel(clientUrls.get(0));
    try {
      while (System.nanoTime() < deadline) {
        try {
          put(
              ch,
              "/anf-bench/health".getBytes(java.nio.charset.StandardCharsets.UTF_8),
              new byte[1]);
          return;
        } catch (RuntimeException e) {
          Thread.sleep(200);
        }
      }
    } finally {
      ch.shutdownNow();
    }
    throw new AnfException(
        ErrorCode.UNAVAILABLE, "etcd did not become healthy in 60 s; see " + dir);
  }

  static ManagedChannel channel(String endpoint) {
    return NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
  }

  /** One Put, blocking, over etcd's gRPC API. */
  static void put(ManagedChannel ch, byte[] key, byte[] value) {
    ByteArrayOutputStream buf = new ByteArrayOutputStream(key.length + value.length + 8);
    try {
      CodedOutputStream out = CodedOutputStream.newInstance(buf);
      out.writeByteArray(1, key);
      out.writeByteArray(2, value);
      out.flush();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    ClientCalls.blockingUnaryCall(
        ch, PUT, CallOptions.DEFAULT.withDeadlineAfter(30, TimeUnit.SECONDS), buf.toByteArray());
  }

  @Override
  public void close() {
    for (Process p : members) {
      p.destroy();
    }
    for (Process p : members) {
      try {
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
          p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
