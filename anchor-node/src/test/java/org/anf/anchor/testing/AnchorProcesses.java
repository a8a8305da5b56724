package org.anf.anchor.testing;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.anf.anchor.dev.LoopbackPorts;
import org.anf.proto.v1.AdminServiceGrpc;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.NodeInfo;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.StatusRequest;
import org.jspecify.annotations.Nullable;

/**
 * Anchor nodes as separate OS processes ({@code anf anchor --config FILE} on the test classpath),
 * so that one can be killed with SIGKILL, mid-write, and restarted from its data directory. Ports
 * are chosen at run time and kept across restarts, since every peer lists them. {@link #close}
 * kills whatever still runs and deletes the directory.
 */
public final class AnchorProcesses implements AutoCloseable {
  public final Path dir;
  private final int[] ports;
  private final int[] raftPorts;
  private final @Nullable Process[] processes;
  private final @Nullable ManagedChannel[] channels;

  public AnchorProcesses(int n) throws IOException {
    this.dir = Files.createTempDirectory("anf-processes-");
    this.ports = new int[n];
    this.raftPorts = new int[n];
    this.processes = new Process[n];
    this.channels = new ManagedChannel[n];
    for (int i = 0; i < n; i++) {
      ports[i] = LoopbackPorts.reserve();
      raftPorts[i] = LoopbackPorts.reserve();
    }
    StringBuilder peers = new StringBuilder("peers:\n");
    for (int i = 0; i < n; i++) {
      peers
          .append("  - {id: ")
          .append(TestCluster.id(i))
          .append(", address: \"127.0.0.1:")
          .append(ports[i])
          .append("\", raft_address: \"127.0.0.1:")
          .append(raftPorts[i])
          .append("\"}\n");
    }
    for (int i = 0; i < n; i++) {
      String yaml =
          "node_id: "
              + TestCluster.id(i)
              + "\ndata_dir: "
              + TestCluster.id(i)
              + "\nlisten: \"127.0.0.1:"
              + ports[i]
              + "\"\nraft_listen: \"127.0.0.1:"
              + raftPorts[i]
              + "\"\nmetrics_port: -1\n"
              + "raft:\n  election_timeout_min_ms: 500\n  election_timeout_max_ms: 1000\n"
              + "  snapshot_every_entries: 0\n"
              + peers;
      Files.writeString(config(i), yaml, StandardCharsets.UTF_8);
    }
  }

  public Path config(int i) {
    return dir.resolve(TestCluster.id(i) + ".yaml");
  }

  public Path log(int i) {
    return dir.resolve(TestCluster.id(i) + ".log");
  }

  public int size() {
    return ports.length;
  }

  /** Starts node i as {@code java -cp <test classpath> org.anf.anchor.cli.Anf anchor --config}. */
  public void start(int i) throws IOException {
    if (running(i)) {
      throw new IllegalStateException(TestCluster.id(i) + " runs already");
    }
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd =
        List.of(
            javaBin,
            "-Xmx256m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-cp",
            System.getProperty("java.class.path"),
            "org.anf.anchor.cli.Anf",
            "anchor",
            "--config",
            config(i).toString());
    Files.writeString(
        log(i),
        "---- start " + String.join(" ", cmd.subList(0, 4)) + " ...\n",
        StandardCharsets.UTF_8,
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    processes[i] =
        new ProcessBuilder(cmd)
            .directory(dir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log(i).toFile()))
            .start();
  }

  /** Waits until node i answers Status (or fails, with the tail of its log). */
  public void awaitServing(int i, Duration timeout) {
    try {
      TestCluster.await(
          TestCluster.id(i) + " serving",
          timeout,
          () -> {
            Process p = processes[i];
            if (p == null || !p.isAlive()) {
              throw new AssertionError(TestCluster.id(i) + " exited:\n" + logTail(i, 40));
            }
            try {
              info(i);
              return true;
            } catch (RuntimeException notYet) {
              // Not listening yet: a new channel next time rather than one in backoff.
              dropChannel(i);
              return false;
            }
          });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "\n" + logTail(i, 40), e);
    }
  }

  /** SIGKILL: no shutdown hook, no flush, nothing closed. */
  public void kill(int i) throws InterruptedException {
    Process p = processes[i];
    if (p != null) {
      p.destroyForcibly();
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        throw new AssertionError(TestCluster.id(i) + " did not die");
      }
      processes[i] = null;
    }
    dropChannel(i);
  }

  private synchronized void dropChannel(int i) {
    ManagedChannel ch = channels[i];
    if (ch != null) {
      ch.shutdownNow();
      channels[i] = null;
    }
  }

  public boolean running(int i) {
    Process p = processes[i];
    return p != null && p.isAlive();
  }

  /** A channel to node i (a fresh one after each restart, so no reconnect backoff applies). */
  public synchronized ManagedChannel channel(int i) {
    ManagedChannel ch = channels[i];
    if (ch == null) {
      ch = NettyChannelBuilder.forAddress("127.0.0.1", ports[i]).usePlaintext().build();
      channels[i] = ch;
    }
    return ch;
  }

  public AnchorServiceGrpc.AnchorServiceBlockingStub anchors(int i) {
    return AnchorServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  public MutationServiceGrpc.MutationServiceBlockingStub mutations(int i) {
    return MutationServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(15, TimeUnit.SECONDS);
  }

  public AdminServiceGrpc.AdminServiceBlockingStub admin(int i) {
    return AdminServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  public NodeInfo info(int i) {
    return AdminServiceGrpc.newBlockingStub(channel(i))
        .withDeadlineAfter(5, TimeUnit.SECONDS)
        .status(StatusRequest.newBuilder().build())
        .getNode();
  }

  public ScopeStatus status(int i, long scope) {
    return admin(i).status(StatusRequest.newBuilder().setScopeId(scope).build()).getScopes(0);
  }

  /** The anchor map of the given nodes, as they describe themselves. */
  public AnchorMap anchorMap(int... idx) {
    AnchorMap.Builder m = AnchorMap.newBuilder();
    for (int i : idx) {
      NodeInfo n = info(i);
      m.addAnchors(
          AnchorInfo.newBuilder()
              .setId(n.getNodeId())
              .setAddress(n.getAddress())
              .setRaftAddress(n.getRaftAddress())
              .setPublicKey(n.getPublicKey()));
    }
    return m.build();
  }

  /** Index of the node that leads the scope's group, as a running node reports it. */
  public int leaderOf(long scope) {
    for (int i = 0; i < size(); i++) {
      if (running(i)) {
        String leader = status(i, scope).getLeaderId();
        for (int j = 0; j < size(); j++) {
          if (TestCluster.id(j).equals(leader)) {
            return j;
          }
        }
      }
    }
    throw new AssertionError("no leader known for scope " + Long.toHexString(scope));
  }

  /** The last lines of node i's output, for failure messages. */
  public String logTail(int i, int lines) {
    try {
      List<String> all = Files.readAllLines(log(i), StandardCharsets.UTF_8);
      return "---- "
          + log(i)
          + "\n"
          + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() throws IOException {
    List<Throwable> problems = new ArrayList<>();
    for (int i = 0; i < size(); i++) {
      try {
        kill(i);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        problems.add(e);
      } catch (RuntimeException | AssertionError e) {
        problems.add(e);
      }
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
    if (!problems.isEmpty()) {
      throw new IOException("stopping anchor processes: " + problems);
    }
  }
}
