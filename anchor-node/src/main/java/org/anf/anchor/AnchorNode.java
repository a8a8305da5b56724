package org.anf.anchor;

import com.google.protobuf.ByteString;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.config.AnchorConfig;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.metrics.AnchorMetrics;
import org.anf.anchor.metrics.MetricsServer;
import org.anf.anchor.rpc.AdminServiceImpl;
import org.anf.anchor.rpc.AnchorServiceImpl;
import org.anf.anchor.rpc.MutationServiceImpl;
import org.anf.anchor.rpc.NodeContext;
import org.anf.anchor.rpc.StructureServiceImpl;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.structure.Coordinator;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.crypto.KeyText;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.NodeInfo;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.statemachine.StateMachine;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An anchor node: one RocksDB, one Ratis server hosting a Raft group per scope, the anchor gRPC
 * services (with health and reflection) and a Prometheus endpoint. Start with {@link #start}; stop
 * with {@link #close}, which applies what is committed and releases every port and file.
 */
public final class AnchorNode implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AnchorNode.class);
  public static final String VERSION = "0.1.0";

  /** How long crash recovery keeps retrying transactions it cannot finish yet. */
  static final long RECOVERY_RETRY_MS = 120_000;

  /** How often a node looks for copies of scopes dissolved while it was cut off. */
  static final long SWEEP_MS = 5_000;

  /** Mutations larger than this are refused at the edge. */
  public static final int MAX_MUTATION_BYTES = 1 << 20;

  /** gRPC messages larger than this are refused by the transport. */
  public static final int MAX_MESSAGE_BYTES = 4 << 20;

  /**
   * Seams for tests and simulation that leave the production code paths as they are: a customizer
   * of Ratis's own gRPC server (the sim installs a link-fault interceptor there) and an interceptor
   * on the anchor services.
   */
  public record Hooks(
      org.apache.ratis.grpc.server.GrpcServices.@Nullable Customizer raftServices,
      io.grpc.@Nullable ServerInterceptor anchorServices,
      StructureCoordinator.@Nullable StepHook structureSteps,
      ScopeRegistry.@Nullable ApplyHook applies) {
    public static final Hooks NONE = new Hooks(null, null, null, null);

    public Hooks(
        org.apache.ratis.grpc.server.GrpcServices.@Nullable Customizer raftServices,
        io.grpc.@Nullable ServerInterceptor anchorServices) {
      this(raftServices, anchorServices, null, null);
    }

    public Hooks(
        org.apache.ratis.grpc.server.GrpcServices.@Nullable Customizer raftServices,
        io.grpc.@Nullable ServerInterceptor anchorServices,
        StructureCoordinator.@Nullable StepHook structureSteps) {
      this(raftServices, anchorServices, structureSteps, null);
    }

    /** Only a hook before each step of the structural protocol (the crash tests' seam). */
    public static Hooks steps(StructureCoordinator.StepHook hook) {
      return new Hooks(null, null, hook, null);
    }

    /** Only a hook before each committed entry is applied (the lagging-replica tests' seam). */
    public static Hooks applies(ScopeRegistry.ApplyHook hook) {
      return new Hooks(null, null, null, hook);
    }
  }

  private final AnchorConfig config;
  private final Hooks hooks;
  private final NodeStore store;
  private final MetricsServer metricsServer;
  private final ScopeRegistry registry;
  private final RaftServer raft;
  private final ScopeGroups groups;
  private final AnchorServiceImpl anchorService;
  private @Nullable MutationServiceImpl mutationService;
  private final Server grpc;
  // Runs every anchor RPC except Submit and SubmitBatch, which run on the transport thread.
  private final java.util.concurrent.ExecutorService rpcExecutor;
  private final Coordinator coordinator;
  private final Thread recovery;
  private final HealthStatusManager health = new HealthStatusManager();
  private final KeyPair nodeKey;
  private final long startedNanos = System.nanoTime();

  private AnchorNode(AnchorConfig config, Hooks hooks) throws IOException {
    this.config = config;
    this.hooks = hooks;
    Files.createDirectories(config.dataDir());
    this.nodeKey = loadOrCreateKey(config.dataDir().resolve("node.key"));
    this.store = new NodeStore(config.dataDir().resolve("rocksdb"), false);
    java.util.concurrent.atomic.AtomicInteger rpcThreads =
        new java.util.concurrent.atomic.AtomicInteger();
    this.rpcExecutor =
        java.util.concurrent.Executors.newCachedThreadPool(
            r -> {
              Thread t =
                  new Thread(r, "anf-rpc-" + config.nodeId() + "-" + rpcThreads.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    boolean ok = false;
    MetricsServer ms = null;
    RaftServer rs = null;
    ScopeGroups sg = null;
    Server gs = null;
    AnchorServiceImpl as = null;
    try {
      ms = new MetricsServer(config.listen().host(), config.metricsPort());
      int[] hosted = {0};
      ScopeRegistry[] reg = new ScopeRegistry[1];
      AnchorMetrics metrics =
          new AnchorMetrics(
              ms.registry(), config.nodeId(), () -> reg[0] == null ? 0 : reg[0].size());
      reg[0] = new ScopeRegistry(store, metrics, config.lineageRetainEntries(), hooks.applies());
      this.registry = reg[0];
      rs =
          RaftServer.newBuilder()
              .setServerId(RaftPeerId.valueOf(config.nodeId()))
              .setProperties(raftProperties(config))
              .setParameters(parameters())
              .setStateMachineRegistry(this::stateMachine)
              .build();
      rs.start();
      sg = new ScopeGroups(rs, parameters(), TimeDuration.valueOf(10, TimeUnit.SECONDS));
      NodeInfo.Builder info =
          NodeInfo.newBuilder()
              .setNodeId(config.nodeId())
              .setPublicKey(ByteString.copyFrom(nodeKey.publicKey()))
              .setVersion(VERSION)
              .setMetricsAddress(ms.address());
      NodeContext ctx =
          new NodeContext(
              config.nodeId(),
              sg,
              registry,
              metrics,
              config.boundedStalenessDefault(),
              MAX_MUTATION_BYTES,
              info);
      as = new AnchorServiceImpl(ctx);
      MutationServiceImpl ms2 = new MutationServiceImpl(ctx);
      StructureCoordinator.StepHook steps = hooks.structureSteps();
      coordinator =
          new Coordinator(
              config.nodeId(), nodeKey, sg, registry, steps != null ? steps : step -> {});
      mutationService = ms2;
      NettyServerBuilder sb =
          NettyServerBuilder.forAddress(
                  new InetSocketAddress(config.listen().host(), config.listen().port()))
              .maxInboundMessageSize(MAX_MESSAGE_BYTES)
              // Submit and SubmitBatch never block (they forward or queue for the batcher and
              // complete from a future), so they run on the transport thread: no hand-off to a
              // pool per write. The server's own executor is direct too, because gRPC looks the
              // method up on it before it picks the call's executor: with a pool there, every
              // Submit paid a thread hand-off just to be routed back to the transport thread.
              .directExecutor()
              .callExecutor(
                  new io.grpc.ServerCallExecutorSupplier() {
                    @Override
                    public <Q, R> java.util.concurrent.@Nullable Executor getExecutor(
                        io.grpc.ServerCall<Q, R> call, io.grpc.Metadata headers) {
                      String m = call.getMethodDescriptor().getFullMethodName();
                      return m.equals(MutationServiceGrpc.getSubmitMethod().getFullMethodName())
                              || m.equals(
                                  MutationServiceGrpc.getSubmitBatchMethod().getFullMethodName())
                          ? com.google.common.util.concurrent.MoreExecutors.directExecutor()
                          : rpcExecutor;
                    }
                  })
              .addService(as)
              .addService(
                  io.grpc.ServerInterceptors.intercept(
                      ms2, MutationServiceImpl.forwardingInterceptor()))
              .addService(new AdminServiceImpl(ctx))
              .addService(new StructureServiceImpl(coordinator))
              .addService(health.getHealthService())
              .addService(ProtoReflectionServiceV1.newInstance());
      io.grpc.ServerInterceptor hook = hooks.anchorServices();
      if (hook != null) {
        sb.intercept(hook);
      }
      gs = sb.build().start();
      info.setAddress(config.listen().host() + ":" + gs.getPort())
          .setRaftAddress(
              config.raftListen().host()
                  + ":"
                  + rs.getServerRpc().getInetSocketAddress().getPort());
      for (AnchorConfig.Peer p : config.peers()) {
        if (p.id().equals(config.nodeId())) {
          ctx.peers.add(
              AnchorInfo.newBuilder()
                  .setId(config.nodeId())
                  .setAddress(info.getAddress())
                  .setRaftAddress(info.getRaftAddress())
                  .setPublicKey(ByteString.copyFrom(nodeKey.publicKey()))
                  .build());
        } else {
          ctx.peers.add(
              AnchorInfo.newBuilder()
                  .setId(p.id())
                  .setAddress(p.address().toString())
                  .setRaftAddress(p.raftAddress().toString())
                  .build());
        }
      }
      hosted[0] = 1;
      ok = true;
    } finally {
      if (!ok) {
        if (gs != null) {
          gs.shutdownNow();
        }
        if (sg != null) {
          sg.close();
        }
        if (rs != null) {
          rs.close();
        }
        if (ms != null) {
          ms.close();
        }
        rpcExecutor.shutdownNow();
        store.close();
      }
    }
    this.metricsServer = ms;
    this.raft = rs;
    this.groups = sg;
    this.grpc = gs;
    this.anchorService = as;
    health.setStatus("", io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING);
    this.recovery = new Thread(this::recoverTransactions, "anf-recovery-" + config.nodeId());
    recovery.setDaemon(true);
    recovery.start();
    LOG.info(
        "anchor {} serving on {} (raft {}, metrics {})",
        config.nodeId(),
        address(),
        raftAddress(),
        metricsServer.address());
  }

  /** Opens the data directory, starts Raft (recovering every group hosted before) and serves. */
  public static AnchorNode start(AnchorConfig config) {
    return start(config, Hooks.NONE);
  }

  public static AnchorNode start(AnchorConfig config, Hooks hooks) {
    try {
      return new AnchorNode(config, hooks);
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "anchor " + config.nodeId() + " failed to start: " + e.getMessage(),
          e);
    }
  }

  private StateMachine stateMachine(org.apache.ratis.protocol.RaftGroupId gid) {
    Long scope = ScopeGroups.scopeOf(gid);
    if (scope == null) {
      LOG.warn("group {} is not an anf scope group; it gets an inert state machine", gid);
      return new BaseStateMachine();
    }
    return new ScopeStateMachine(scope, registry);
  }

  /**
   * Finishes (commits or aborts) the cross-scope transactions left open here by a crash, retrying
   * with backoff while their groups cannot commit yet (peers still starting). Then, for as long as
   * the node runs, drops its copies of scopes that were dissolved while it was cut off.
   */
  private void recoverTransactions() {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RECOVERY_RETRY_MS);
    long backoffMs = 200;
    try {
      while (!closed.get()) {
        int left;
        try {
          left = coordinator.recover();
        } catch (RuntimeException e) {
          LOG.warn("recovery pass failed: {}", e.toString());
          left = 1;
        }
        if (left == 0) {
          break;
        }
        if (System.nanoTime() > deadline) {
          LOG.warn("recovery: {} scope(s) still hold unfinished transactions; giving up", left);
          break;
        }
        Thread.sleep(backoffMs);
        backoffMs = Math.min(5_000, backoffMs * 2);
      }
      while (!closed.get()) {
        Thread.sleep(SWEEP_MS);
        try {
          coordinator.sweepDissolved();
        } catch (RuntimeException e) {
          LOG.warn("sweep of dissolved scopes failed: {}", e.toString());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** The structural coordinator of this node (tests run its recovery pass directly). */
  public Coordinator coordinator() {
    return coordinator;
  }

  static RaftProperties raftProperties(AnchorConfig c) {
    RaftProperties p = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(p, List.of(c.dataDir().resolve("raft").toFile()));
    RaftServerConfigKeys.setRemovedGroupsDir(p, c.dataDir().resolve("raft-removed").toFile());
    GrpcConfigKeys.Server.setHost(p, c.raftListen().host());
    GrpcConfigKeys.Server.setPort(p, c.raftListen().port());
    long min = c.electionTimeoutMin().toMillis();
    long max = c.electionTimeoutMax().toMillis();
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(min, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(max, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(
        p, TimeDuration.valueOf(Math.max(50, min / 4), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(
        p, TimeDuration.valueOf(Math.max(100, max / 4), TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, c.snapshotEveryEntries() > 0);
    if (c.snapshotEveryEntries() > 0) {
      RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, c.snapshotEveryEntries());
    }
    RaftServerConfigKeys.Snapshot.setTriggerWhenRemoveEnabled(p, false);
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, c.purgeUpToSnapshotIndex());
    // Ratis skips a purge that would drop fewer entries than this (its default is 1024).
    RaftServerConfigKeys.Log.setPurgeGap(p, (int) c.purgeGap());
    // Many groups per node: keep each group's buffers modest. The appender limit is also the
    // largest log entry, so it must stay above the largest mutation (1 MiB).
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(c.segmentSizeBytes()));
    RaftServerConfigKeys.Log.setPreallocatedSize(
        p, SizeInBytes.valueOf(Math.min(1L << 20, c.segmentSizeBytes())));
    RaftServerConfigKeys.Log.setSegmentCacheNumMax(p, 2);
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf("2MB"));
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf("3MB"));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("8MB"));
    // fsync stays on (every entry is forced before it counts); forcing on its own thread lets
    // appends pipeline with it.
    RaftServerConfigKeys.Log.setAsyncFlushEnabled(p, true);
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, true);
    return p;
  }

  /**
   * Ratis transport parameters: with {@code tls} configured, every Raft connection between anchors
   * (and every Ratis client this node uses) is mutually authenticated against the CA.
   */
  private Parameters parameters() {
    Parameters p = new Parameters();
    if (hooks.raftServices() != null) {
      GrpcConfigKeys.Server.setServicesCustomizer(p, hooks.raftServices());
    }
    AnchorConfig.Tls tls = config.tls();
    if (tls != null) {
      for (Path f : List.of(tls.cert(), tls.key(), tls.ca())) {
        if (!Files.isReadable(f)) {
          throw new AnfException(ErrorCode.INVALID_ARGUMENT, "tls: cannot read " + f);
        }
      }
      GrpcConfigKeys.TLS.setConf(
          p, new GrpcTlsConfig(tls.key().toFile(), tls.cert().toFile(), tls.ca().toFile(), true));
    }
    return p;
  }

  static KeyPair loadOrCreateKey(Path file) throws IOException {
    if (Files.exists(file)) {
      return KeyText.parse(Files.readString(file, StandardCharsets.UTF_8));
    }
    KeyPair k = Ed25519.generate(new SecureRandom());
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, KeyText.format(k), StandardCharsets.UTF_8);
    File f = tmp.toFile();
    f.setReadable(false, false);
    f.setReadable(true, true);
    f.setWritable(false, false);
    f.setWritable(true, true);
    Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    return k;
  }

  public String nodeId() {
    return config.nodeId();
  }

  public AnchorConfig config() {
    return config;
  }

  public int port() {
    return grpc.getPort();
  }

  public String address() {
    return config.listen().host() + ":" + grpc.getPort();
  }

  public int raftPort() {
    return raft.getServerRpc().getInetSocketAddress().getPort();
  }

  public String raftAddress() {
    return config.raftListen().host() + ":" + raftPort();
  }

  public String metricsAddress() {
    return metricsServer.address();
  }

  public KeyPair nodeKey() {
    return nodeKey;
  }

  /** This node as an anchor of a scope's group. */
  public AnchorInfo anchorInfo() {
    return AnchorInfo.newBuilder()
        .setId(config.nodeId())
        .setAddress(address())
        .setRaftAddress(raftAddress())
        .setPublicKey(ByteString.copyFrom(nodeKey.publicKey()))
        .build();
  }

  public ScopeRegistry registry() {
    return registry;
  }

  public ScopeGroups groups() {
    return groups;
  }

  public NodeStore store() {
    return store;
  }

  public long uptimeMs() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
  }

  public @Nullable ScopeStateMachine scope(long scopeId) {
    return registry.get(scopeId);
  }

  private final java.util.concurrent.atomic.AtomicBoolean closed =
      new java.util.concurrent.atomic.AtomicBoolean();

  /** Stops serving, applies what is committed, releases ports and files; idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    health.enterTerminalState();
    recovery.interrupt();
    grpc.shutdown();
    anchorService.close();
    if (mutationService != null) {
      mutationService.close();
    }
    try {
      if (!grpc.awaitTermination(5, TimeUnit.SECONDS)) {
        grpc.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      grpc.shutdownNow();
    }
    rpcExecutor.shutdownNow();
    groups.close();
    try {
      raft.close();
    } catch (IOException e) {
      LOG.warn("closing raft server: {}", e.getMessage());
    }
    store.close();
    metricsServer.close();
    LOG.info("anchor {} stopped", config.nodeId());
  }
}
