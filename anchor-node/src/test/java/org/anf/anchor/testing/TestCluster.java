package org.anf.anchor.testing;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import java.util.stream.Stream;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.config.AnchorConfig;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.transition.Transitions;
import org.anf.proto.v1.AdminServiceGrpc;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.CreateScopeRequest;
import org.anf.proto.v1.CreateScopeResponse;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.StatusRequest;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.jspecify.annotations.Nullable;

/**
 * Real anchor nodes in this JVM on loopback: real Ratis, RocksDB in a temp dir, real gRPC. Ports
 * are picked by the OS (port 0) at first start and kept for restarts, since peers know them.
 */
public final class TestCluster implements AutoCloseable {
  public final Path dir;
  private final @Nullable AnchorNode[] nodes;
  private final int[] ports;
  private final int[] raftPorts;
  private final List<ManagedChannel> channels = new ArrayList<>();
  private final @Nullable ManagedChannel[] channelByNode;
  public final KeyPair admin = TestKeys.key("admin");
  public final MutationFactory factory;
  private final Options options;
  private org.anf.anchor.tls.@Nullable Certificates authority;
  public long root;

  /**
   * What the anchors are configured with beyond the test defaults.
   *
   * @param snapshotEveryEntries {@code raft.snapshot_every_entries}; 0 snapshots only on demand
   * @param lineageRetainEntries {@code lineage_retain_entries}; 0 keeps all
   * @param tls Raft over mutual TLS with certificates from one test CA
   * @param purgeGap {@code raft.purge_gap}; 0 leaves Ratis's default
   * @param metrics serve {@code /metrics} on a port the OS picks
   */
  public record Options(
      long snapshotEveryEntries,
      long lineageRetainEntries,
      boolean tls,
      long purgeGap,
      boolean metrics) {
    public static final Options DEFAULT = new Options(0, 0, false, 0, false);

    public Options withSnapshotEvery(long entries) {
      return new Options(entries, lineageRetainEntries, tls, purgeGap, metrics);
    }

    public Options withLineageRetained(long entries) {
      return new Options(snapshotEveryEntries, entries, tls, purgeGap, metrics);
    }

    public Options withPurgeGap(long gap) {
      return new Options(snapshotEveryEntries, lineageRetainEntries, tls, gap, metrics);
    }

    public Options withMetrics() {
      return new Options(snapshotEveryEntries, lineageRetainEntries, tls, purgeGap, true);
    }
  }

  public TestCluster(int n) throws IOException {
    this(n, Options.DEFAULT);
  }

  public TestCluster(int n, long snapshotEveryEntries, long lineageRetainEntries)
      throws IOException {
    this(n, snapshotEveryEntries, lineageRetainEntries, false);
  }

  /** With {@code tls}, anchors talk Raft over mutual TLS with certificates from one test CA. */
  public TestCluster(int n, long snapshotEveryEntries, long lineageRetainEntries, boolean tls)
      throws IOException {
    this(n, new Options(snapshotEveryEntries, lineageRetainEntries, tls, 0, false));
  }

  public TestCluster(int n, Options options) throws IOException {
    this(n, options, i -> AnchorNode.Hooks.NONE);
  }

  /** Nodes start with the hooks given for their index (fault injection). */
  public TestCluster(int n, Options options, IntFunction<AnchorNode.Hooks> hooks)
      throws IOException {
    this.options = options;
    this.dir = Files.createTempDirectory("anf-cluster-");
    if (options.tls()) {
      org.anf.anchor.tls.Certificates ca =
          org.anf.anchor.tls.Certificates.newAuthority("anf test CA");
      for (int i = 0; i < n; i++) {
        ca.issue(id(i), List.of("127.0.0.1"), dir.resolve("tls"));
      }
      authority = ca;
    }
    this.nodes = new AnchorNode[n];
    this.ports = new int[n];
    this.raftPorts = new int[n];
    this.channelByNode = new ManagedChannel[n];
    this.factory = new MutationFactory(new Random(1234), () -> 1_764_000_000_000L);
    for (int i = 0; i < n; i++) {
      start(i, hooks.apply(i));
    }
  }

  public static String id(int i) {
    return "a" + (i + 1);
  }

  public AnchorConfig config(int i) {
    String yaml =
        "node_id: "
            + id(i)
            + "\ndata_dir: "
            + dir.resolve(id(i))
            + "\nlisten: 127.0.0.1:"
            + ports[i]
            + "\nraft_listen: 127.0.0.1:"
            + raftPorts[i]
            + "\nmetrics_port: "
            + (options.metrics() ? 0 : -1)
            + "\nraft:\n  election_timeout_min_ms: 300\n  election_timeout_max_ms: 600\n"
            + "  segment_size_bytes: 65536\n"
            + "  snapshot_every_entries: "
            + options.snapshotEveryEntries()
            + "\n"
            + (options.purgeGap() > 0 ? "  purge_gap: " + options.purgeGap() + "\n" : "")
            + "lineage_retain_entries: "
            + options.lineageRetainEntries()
            + "\n"
            + (authority == null
                ? ""
                : "tls:\n  cert: "
                    + dir.resolve("tls/" + id(i) + ".pem")
                    + "\n  key: "
                    + dir.resolve("tls/" + id(i) + ".key.pem")
                    + "\n  ca: "
                    + dir.resolve("tls/ca.pem")
                    + "\n");
    return AnchorConfig.parse(yaml, dir, "test-" + id(i) + ".yaml");
  }

  public void start(int i) {
    start(i, AnchorNode.Hooks.NONE);
  }

  public void start(int i, AnchorNode.Hooks hooks) {
    AnchorNode node = AnchorNode.start(config(i), hooks);
    nodes[i] = node;
    ports[i] = node.port();
    raftPorts[i] = node.raftPort();
  }

  /** Stops node i (its data stays). */
  public void stop(int i) {
    AnchorNode node = nodes[i];
    if (node != null) {
      ManagedChannel ch = channelByNode[i];
      if (ch != null) {
        ch.shutdownNow();
        channelByNode[i] = null;
      }
      node.close();
      nodes[i] = null;
    }
  }

  public AnchorNode node(int i) {
    AnchorNode n = nodes[i];
    if (n == null) {
      throw new IllegalStateException("node " + id(i) + " is stopped");
    }
    return n;
  }

  public boolean running(int i) {
    return nodes[i] != null;
  }

  public int size() {
    return nodes.length;
  }

  public ManagedChannel channel(int i) {
    ManagedChannel ch = channelByNode[i];
    if (ch == null) {
      ch = NettyChannelBuilder.forAddress("127.0.0.1", node(i).port()).usePlaintext().build();
      channelByNode[i] = ch;
      channels.add(ch);
    }
    return ch;
  }

  public AnchorServiceGrpc.AnchorServiceBlockingStub anchors(int i) {
    return AnchorServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  public MutationServiceGrpc.MutationServiceBlockingStub mutations(int i) {
    return MutationServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  public AdminServiceGrpc.AdminServiceBlockingStub admin(int i) {
    return AdminServiceGrpc.newBlockingStub(channel(i)).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  public AnchorMap anchorMap(int... idx) {
    AnchorMap.Builder m = AnchorMap.newBuilder();
    for (int i : idx) {
      m.addAnchors(node(i).anchorInfo());
    }
    return m.build();
  }

  public int[] all() {
    int[] a = new int[nodes.length];
    for (int i = 0; i < a.length; i++) {
      a[i] = i;
    }
    return a;
  }

  /** Creates the root scope on the given nodes, owned by {@link #admin}. */
  public long createRoot(int... idx) {
    CreateScopeRequest req = rootRequest(factory, admin, anchorMap(idx));
    admin(idx[0]).createScope(req);
    root = Transitions.parse(req.getGenesis()).getScopeId();
    return root;
  }

  /** Creates a child scope on the given nodes through the parent's Delegate and the genesis. */
  public long createScope(long parent, String path, int... idx) {
    CreateScopeResponse r =
        admin(firstRunning())
            .createScope(childRequest(factory, admin, parent, path, anchorMap(idx)));
    return r.getScope().getScopeId();
  }

  /** The request that creates a root owned by {@code admin} on {@code anchors}. */
  public static CreateScopeRequest rootRequest(
      MutationFactory factory, KeyPair admin, AnchorMap anchors) {
    Mutation genesis =
        factory.genesis(
            0,
            Alias.ROOT,
            Policies.ownedBy(admin.publicKey()),
            anchors,
            0,
            List.of(),
            ByteString.EMPTY);
    return CreateScopeRequest.newBuilder().setGenesis(Signing.sign(genesis, admin)).build();
  }

  /** The parent's Delegate and the child's genesis, both signed by {@code admin}. */
  public static CreateScopeRequest childRequest(
      MutationFactory factory, KeyPair admin, long parent, String path, AnchorMap anchors) {
    Policy policy = Policies.ownedBy(admin.publicKey());
    int depth = Alias.parse(path).size();
    Mutation genesis =
        factory.genesis(
            parent, Alias.parse(path), policy, anchors, depth, List.of(), ByteString.EMPTY);
    Delegation d =
        Delegation.newBuilder()
            .setChild(Alias.parse(path).toProto())
            .setChildScopeId(genesis.getScopeId())
            .setAnchors(anchors.toBuilder().setVersion(1))
            .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(policy)))
            .build();
    // With the child's policy the parent records its fuse (parent_may_reclaim).
    return CreateScopeRequest.newBuilder()
        .setDelegate(Signing.sign(factory.delegate(parent, d, policy), admin))
        .setGenesis(Signing.sign(genesis, admin))
        .build();
  }

  public int firstRunning() {
    for (int i = 0; i < nodes.length; i++) {
      if (nodes[i] != null) {
        return i;
      }
    }
    throw new IllegalStateException("no node is running");
  }

  public SignedMutation sign(Mutation m) {
    return Signing.sign(m, admin);
  }

  public SubmitResponse submit(int node, Mutation m) {
    return mutations(node).submit(SubmitRequest.newBuilder().setMutation(sign(m)).build());
  }

  public ScopeStatus status(int node, long scope) {
    return admin(node).status(StatusRequest.newBuilder().setScopeId(scope).build()).getScopes(0);
  }

  /** Waits for a condition, polling; fails with {@code what} after the timeout. */
  public static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try {
        if (condition.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException e) {
        last = e;
      }
      try {
        Thread.sleep(25);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
    dumpThreads("timed out waiting for " + what);
    throw new AssertionError("timed out after " + timeout + " waiting for " + what, last);
  }

  /**
   * Prints every thread's full stack and the locks it holds and waits on, and any deadlock: a wait
   * that times out leaves the evidence of what was stuck in the test's output.
   */
  public static void dumpThreads(String why) {
    System.out.println(
        "==== thread dump: "
            + why
            + "\n"
            + org.anf.anchor.dev.ThreadDumps.text()
            + "==== end of thread dump");
  }

  @Override
  public void close() throws IOException {
    for (ManagedChannel ch : channels) {
      ch.shutdownNow();
    }
    for (int i = 0; i < nodes.length; i++) {
      stop(i);
    }
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
