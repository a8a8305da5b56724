package org.anf.anchor.dev;

import com.google.protobuf.ByteString;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.config.AnchorConfig;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.crypto.KeyText;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeMeta;
import org.anf.resolver.transport.GrpcErrors;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An embedded fabric in one JVM: N anchor nodes on loopback, data under one directory kept across
 * restarts, a root scope and a small demo namespace created on first start, and a dev admin key
 * that owns them. What {@code anf dev} runs; tests, the demo and benchmarks use it too.
 */
public final class DevFabric implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(DevFabric.class);
  public static final List<String> DEMO_SCOPES = List.of("svc", "svc@demo", "user");

  /**
   * How to lay the fabric out: anchor i serves gRPC on {@code ports[i]}, Raft on {@code
   * raftPorts[i]} and metrics on {@code metricsPorts[i]} (-1: none).
   */
  public record Options(
      Path dataDir,
      String host,
      List<Integer> ports,
      List<Integer> raftPorts,
      List<Integer> metricsPorts,
      long snapshotEveryEntries,
      List<String> demoScopes) {
    /** {@code anf dev}'s layout: gRPC base+i, Raft base+100+i, metrics base+2000+i. */
    public static Options fromBase(Path dataDir, int basePort, int anchors) {
      List<Integer> g = new ArrayList<>();
      List<Integer> r = new ArrayList<>();
      List<Integer> m = new ArrayList<>();
      for (int i = 0; i < anchors; i++) {
        g.add(basePort + i);
        r.add(basePort + 100 + i);
        m.add(basePort + 2000 + i);
      }
      return new Options(dataDir, "127.0.0.1", g, r, m, 10_000, DEMO_SCOPES);
    }

    /** Free ports chosen now ({@link LoopbackPorts}), kept for restarts (tests); no metrics. */
    public static Options ephemeral(Path dataDir, int anchors) {
      List<Integer> g = new ArrayList<>();
      List<Integer> r = new ArrayList<>();
      List<Integer> m = new ArrayList<>();
      for (int i = 0; i < anchors; i++) {
        g.add(LoopbackPorts.reserve());
        r.add(LoopbackPorts.reserve());
        m.add(-1);
      }
      return new Options(dataDir, "127.0.0.1", g, r, m, 10_000, DEMO_SCOPES);
    }

    public int anchors() {
      return ports.size();
    }
  }

  private final Options opts;
  private final List<AnchorNode> nodes = new ArrayList<>();
  private final KeyPair admin;
  private final Path keyFile;
  private final MutationFactory factory =
      new MutationFactory(new SecureRandom(), System::currentTimeMillis);
  private long root;

  private DevFabric(Options opts) throws IOException {
    this.opts = opts;
    Files.createDirectories(opts.dataDir());
    this.keyFile = opts.dataDir().resolve("dev-admin.key");
    this.admin = loadOrCreate(keyFile);
  }

  /** Starts the nodes; creates the root and demo scopes if this data directory has none yet. */
  public static DevFabric start(Options opts) {
    return start(opts, i -> AnchorNode.Hooks.NONE);
  }

  /** Starts with per-anchor hooks (the simulator's fault seams). */
  public static DevFabric start(
      Options opts, java.util.function.IntFunction<AnchorNode.Hooks> hooks) {
    DevFabric f;
    try {
      f = new DevFabric(opts);
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "cannot use " + opts.dataDir() + ": " + e.getMessage());
    }
    boolean ok = false;
    try {
      for (int i = 0; i < opts.anchors(); i++) {
        f.nodes.add(AnchorNode.start(f.config(i), hooks.apply(i)));
      }
      f.bootstrap();
      f.awaitLeaders();
      ok = true;
      return f;
    } finally {
      if (!ok) {
        f.close();
      }
    }
  }

  public static String nodeId(int i) {
    return "a" + (i + 1);
  }

  AnchorConfig config(int i) {
    StringBuilder peers = new StringBuilder();
    for (int j = 0; j < opts.anchors(); j++) {
      peers
          .append("  - {id: ")
          .append(nodeId(j))
          .append(", address: \"")
          .append(opts.host())
          .append(':')
          .append(opts.ports().get(j))
          .append("\", raft_address: \"")
          .append(opts.host())
          .append(':')
          .append(opts.raftPorts().get(j))
          .append("\"}\n");
    }
    String yaml =
        "node_id: "
            + nodeId(i)
            + "\n"
            + "data_dir: \""
            + opts.dataDir().resolve(nodeId(i)).toAbsolutePath()
            + "\"\n"
            + "listen: \""
            + opts.host()
            + ":"
            + opts.ports().get(i)
            + "\"\n"
            + "raft_listen: \""
            + opts.host()
            + ":"
            + opts.raftPorts().get(i)
            + "\"\n"
            + "metrics_port: "
            + opts.metricsPorts().get(i)
            + "\n"
            + "raft:\n  election_timeout_min_ms: 1000\n  election_timeout_max_ms: 2000\n"
            + "  snapshot_every_entries: "
            + opts.snapshotEveryEntries()
            + "\n"
            + "peers:\n"
            + peers
            + tlsYaml(i);
    return AnchorConfig.parse(yaml, opts.dataDir(), "dev anchor " + nodeId(i));
  }

  /** The dev CA and each anchor's certificate, made once under the data directory. */
  private String tlsYaml(int i) {
    Path dir = opts.dataDir().resolve("tls");
    String id = nodeId(i);
    if (!Files.exists(dir.resolve(id + ".pem"))) {
      synchronized (this) {
        if (authority == null) {
          authority = org.anf.anchor.tls.Certificates.newAuthority("anf dev CA");
          // A new CA invalidates certificates issued by an old one.
          for (int j = 0; j < opts.anchors(); j++) {
            authority.issue(nodeId(j), List.of(opts.host()), dir);
          }
        }
      }
    }
    return "tls:\n  cert: \""
        + dir.resolve(id + ".pem").toAbsolutePath()
        + "\"\n  key: \""
        + dir.resolve(id + ".key.pem").toAbsolutePath()
        + "\"\n  ca: \""
        + dir.resolve("ca.pem").toAbsolutePath()
        + "\"\n";
  }

  private org.anf.anchor.tls.@Nullable Certificates authority;

  private AnchorMap anchorMap() {
    AnchorMap.Builder m = AnchorMap.newBuilder();
    nodes.forEach(n -> m.addAnchors(n.anchorInfo()));
    return m.build();
  }

  private AnchorMap anchorMap(List<Integer> anchors) {
    AnchorMap.Builder m = AnchorMap.newBuilder();
    anchors.forEach(i -> m.addAnchors(nodes.get(i).anchorInfo()));
    return m.build();
  }

  private void bootstrap() {
    Long existing = findRoot();
    if (existing != null) {
      root = existing;
      LOG.info(
          "dev fabric: root scope {} recovered from {}", Long.toHexString(root), opts.dataDir());
      return;
    }
    Mutation genesis =
        factory.genesis(
            0,
            Alias.ROOT,
            Policies.ownedBy(admin.publicKey()),
            anchorMap(),
            0,
            List.of(),
            ByteString.EMPTY);
    root = genesis.getScopeId();
    create(null, genesis);
    // Ids as created: node 0 may not have applied a genesis yet when the next child needs it.
    java.util.Map<Alias, Long> made = new java.util.HashMap<>();
    made.put(Alias.ROOT, root);
    for (String s : opts.demoScopes()) {
      Alias path = Alias.parse(s);
      Alias parentPath = path.prefix(path.size() - 1);
      Long parent = made.get(parentPath);
      made.put(path, createChild(parent != null ? parent : scopeOf(parentPath), path));
    }
    LOG.info("dev fabric: created root scope {} and {}", Long.toHexString(root), opts.demoScopes());
  }

  /** Waits until every group has elected a leader, so "serving" means lookups can be answered. */
  private void awaitLeaders() {
    for (AnchorNode n : nodes) {
      for (long scope : n.registry().all().keySet()) {
        n.groups().awaitLeader(scope, 30_000);
      }
    }
  }

  /** The scope whose path is {@code path}, among the scopes the first node hosts. */
  public long scopeOf(Alias path) {
    if (path.isRoot()) {
      return root;
    }
    // A scope just created may not be applied on node 0 yet: wait a little for it.
    long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
    while (true) {
      for (ScopeStateMachine sm : nodes.get(0).registry().all().values()) {
        ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
        if (meta != null && Alias.fromProto(meta.getPath()).equals(path)) {
          return sm.scopeId();
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AnfException(
            ErrorCode.UNKNOWN_SCOPE, "no scope '" + path + "' in the dev fabric");
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted looking for " + path);
      }
    }
  }

  private @Nullable Long findRoot() {
    AnchorNode first = nodes.get(0);
    for (ScopeStateMachine sm : first.registry().all().values()) {
      ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
      if (meta != null && meta.getParentScopeId() == 0) {
        return sm.scopeId();
      }
    }
    return null;
  }

  /** Creates a child scope on every dev anchor, owned by the dev admin key. */
  public long createChild(long parent, Alias path) {
    return createChild(parent, path, anchorMap());
  }

  /** Creates a child scope governed by some of the anchors (indexes into {@link #nodes}). */
  public long createChild(long parent, Alias path, List<Integer> anchorIndexes) {
    return createChild(parent, path, anchorMap(anchorIndexes));
  }

  private long createChild(long parent, Alias path, AnchorMap anchors) {
    Policy policy = Policies.ownedBy(admin.publicKey());
    Mutation genesis =
        factory.genesis(parent, path, policy, anchors, path.size(), List.of(), ByteString.EMPTY);
    Delegation d =
        Delegation.newBuilder()
            .setChild(path.toProto())
            .setChildScopeId(genesis.getScopeId())
            .setAnchors(anchors.toBuilder().setVersion(1))
            .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(policy)))
            .build();
    // With the child's policy the parent records its fuse (parent_may_reclaim).
    create(factory.delegate(parent, d, policy), genesis);
    return genesis.getScopeId();
  }

  private void create(@Nullable Mutation delegate, Mutation genesis) {
    var req =
        org.anf.proto.v1.CreateScopeRequest.newBuilder().setGenesis(Signing.sign(genesis, admin));
    if (delegate != null) {
      req.setDelegate(Signing.sign(delegate, admin));
    }
    var ch =
        io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forTarget(nodes.get(0).address())
            .usePlaintext()
            .build();
    try {
      org.anf.proto.v1.AdminServiceGrpc.newBlockingStub(ch)
          .withDeadlineAfter(60, java.util.concurrent.TimeUnit.SECONDS)
          .createScope(req.build());
    } catch (io.grpc.StatusRuntimeException e) {
      throw GrpcErrors.fromStatus(e);
    } finally {
      ch.shutdownNow();
    }
  }

  private static KeyPair loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) {
      return KeyText.parse(Files.readString(file, StandardCharsets.UTF_8));
    }
    KeyPair k = Ed25519.generate(new SecureRandom());
    writeOwnerOnly(file, KeyText.format(k));
    return k;
  }

  /**
   * Creates {@code file} readable and writable by its owner only from the moment it exists (so the
   * secret is never readable by others, not even briefly), then writes {@code text} to it. Refuses
   * to replace a file that exists ({@link java.nio.file.FileAlreadyExistsException}).
   */
  public static void writeOwnerOnly(Path file, String text) throws IOException {
    try {
      Files.createFile(
          file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system: restrict it as far as this one allows, before writing.
      Files.createFile(file);
      restrict(file);
    }
    Files.writeString(file, text, StandardCharsets.UTF_8);
  }

  static void restrict(Path file) {
    var f = file.toFile();
    f.setReadable(false, false);
    f.setReadable(true, true);
    f.setWritable(false, false);
    f.setWritable(true, true);
  }

  /**
   * Where {@link #publishKey} put the key, and where a different key that was there went (null when
   * there was none, or it was this key already).
   */
  public record Published(Path file, @Nullable Path previous) {}

  /**
   * Copies the dev admin key to {@code dir/dev-admin.key} ({@code anf dev} uses {@code ~/.anf}) so
   * client commands find it from any directory. A different key already there is not overwritten:
   * it is moved aside to {@code dev-admin.key.old} (or {@code .old.N}), which the result names so
   * the caller can say so.
   */
  public Published publishKey(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path target = dir.resolve("dev-admin.key");
    Path previous = null;
    if (Files.exists(target)) {
      if (sameKey(target, admin)) {
        return new Published(target, null);
      }
      previous = dir.resolve("dev-admin.key.old");
      for (int i = 1; Files.exists(previous); i++) {
        previous = dir.resolve("dev-admin.key.old." + i);
      }
      Files.move(target, previous);
    }
    writeOwnerOnly(target, KeyText.format(admin));
    return new Published(target, previous);
  }

  private static boolean sameKey(Path file, KeyPair key) {
    try {
      KeyPair k = KeyText.parse(Files.readString(file, StandardCharsets.UTF_8));
      return java.util.Arrays.equals(k.publicKey(), key.publicKey());
    } catch (IOException | AnfException e) {
      return false; // unreadable or not a key: keep it aside all the same
    }
  }

  public List<AnchorNode> nodes() {
    return nodes;
  }

  public long root() {
    return root;
  }

  public KeyPair admin() {
    return admin;
  }

  public Path keyFile() {
    return keyFile;
  }

  public Options options() {
    return opts;
  }

  /** Stops anchor i (its data stays); {@link #restart} brings it back on the same ports. */
  public void stop(int i) {
    nodes.get(i).close();
  }

  public void restart(int i, AnchorNode.Hooks hooks) {
    nodes.set(i, AnchorNode.start(config(i), hooks));
  }

  public ScopeGroups groups(int i) {
    return nodes.get(i).groups();
  }

  @Override
  public void close() {
    for (int i = nodes.size() - 1; i >= 0; i--) {
      try {
        nodes.get(i).close();
      } catch (RuntimeException e) {
        LOG.warn("stopping {}: {}", nodes.get(i).nodeId(), e.getMessage());
      }
    }
    nodes.clear();
  }
}
