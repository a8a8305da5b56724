package org.anf.anchor.structure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.cli.Walk;
import org.anf.anchor.dev.DevFabric;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.AdminServiceGrpc;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.CreateScopeRequest;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.GetLineageResponse;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.OpenTransactionsRequest;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.StatusRequest;
import org.anf.proto.v1.StructureRequest;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.StructureServiceGrpc;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.anf.proto.v1.TxnPhase;

/**
 * A real three-anchor fabric (DevFabric: Ratis, RocksDB in a temp dir, gRPC on loopback) with the
 * calls the structural tests make: binds in batches, structural requests signed by the admin key,
 * the Lookup walk, and the checks every test ends with (lineage verifies on every anchor, replicas
 * agree).
 */
final class StructFabric implements AutoCloseable {
  final Path dir;
  final DevFabric fabric;
  final MutationFactory factory =
      new MutationFactory(new SecureRandom(), System::currentTimeMillis);
  private final Map<String, ManagedChannel> channels = new HashMap<>();

  StructFabric(java.util.function.IntFunction<AnchorNode.Hooks> hooks) throws IOException {
    this.dir = Files.createTempDirectory("anf-struct-");
    this.fabric = DevFabric.start(DevFabric.Options.ephemeral(dir, 3), hooks);
  }

  synchronized ManagedChannel channel(String address) {
    return channels.computeIfAbsent(
        address, a -> NettyChannelBuilder.forTarget(a).usePlaintext().build());
  }

  String address(int i) {
    return fabric.nodes().get(i).address();
  }

  AnchorServiceGrpc.AnchorServiceBlockingStub anchors(String a) {
    return AnchorServiceGrpc.newBlockingStub(channel(a)).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  StructureServiceGrpc.StructureServiceBlockingStub structure(int i) {
    return StructureServiceGrpc.newBlockingStub(channel(address(i)))
        .withDeadlineAfter(120, TimeUnit.SECONDS);
  }

  Walk walk() {
    List<String> all = new ArrayList<>();
    for (AnchorNode n : fabric.nodes()) {
      all.add(n.address());
    }
    return new Walk(this::anchors, all);
  }

  long scope(String path) {
    return fabric.scopeOf(Alias.parse(path));
  }

  long createChild(String parent, String path) {
    return fabric.createChild(scope(parent), Alias.parse(path));
  }

  /**
   * A scope's meta as a1 holds it, once a1 has applied its genesis: a scope created or split off
   * through another anchor a moment ago may not be applied on a1 yet.
   */
  ScopeMeta meta(long scope) {
    TestCluster.await(
        "a1 applied the genesis of scope " + Long.toHexString(scope),
        Duration.ofSeconds(30),
        () -> {
          ScopeStateMachine sm = fabric.nodes().get(0).registry().get(scope);
          return sm != null && sm.store().read(() -> sm.state().exists());
        });
    ScopeStateMachine sm = fabric.nodes().get(0).registry().get(scope);
    if (sm == null) {
      throw new AssertionError("scope " + Long.toHexString(scope) + " not hosted on a1");
    }
    return sm.store().read(() -> sm.state().meta());
  }

  /**
   * Creates a child scope under {@code policy}, anchored on the given nodes: the parent's Delegate
   * carries the policy (so the parent records the child's fuse), then the child's genesis.
   */
  long createChild(long parent, String path, Policy policy, List<Integer> anchorIndexes) {
    AnchorMap.Builder anchors = AnchorMap.newBuilder();
    anchorIndexes.forEach(i -> anchors.addAnchors(fabric.nodes().get(i).anchorInfo()));
    Alias alias = Alias.parse(path);
    Mutation genesis =
        factory.genesis(
            parent,
            alias,
            policy,
            anchors.build(),
            meta(parent).getDepth() + 1,
            List.of(),
            ByteString.EMPTY);
    Delegation d =
        Delegation.newBuilder()
            .setChild(alias.toProto())
            .setChildScopeId(genesis.getScopeId())
            .setAnchors(anchors.build().toBuilder().setVersion(1))
            .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(policy)))
            .build();
    AdminServiceGrpc.newBlockingStub(channel(address(0)))
        .withDeadlineAfter(60, TimeUnit.SECONDS)
        .createScope(
            CreateScopeRequest.newBuilder()
                .setDelegate(Signing.sign(factory.delegate(parent, d, policy), fabric.admin()))
                .setGenesis(Signing.sign(genesis, fabric.admin()))
                .build());
    return genesis.getScopeId();
  }

  /**
   * Stops anchor i at once, as a crash would: its gRPC server drops every open call and its Raft
   * server stops without waiting for anything in flight. {@link DevFabric#stop} afterwards only
   * releases what is left (RocksDB, ports). The gRPC server is private to AnchorNode, hence the
   * reflection: a test-only fault injection.
   */
  void killAbruptly(int i) {
    AnchorNode n = fabric.nodes().get(i);
    try {
      java.lang.reflect.Field f = AnchorNode.class.getDeclaredField("grpc");
      f.setAccessible(true);
      ((io.grpc.Server) f.get(n)).shutdownNow();
    } catch (ReflectiveOperationException e) {
      throw new LinkageError("AnchorNode has no gRPC server field 'grpc' to kill", e);
    }
    try {
      n.groups().server().close();
    } catch (IOException e) {
      throw new AssertionError("stopping the Raft server of " + n.nodeId(), e);
    }
  }

  /** Whether step {@code step} of transaction {@code txn} is in a scope's lineage (on a2). */
  boolean stepRecorded(long scope, ByteString txn, String step) {
    ByteString id = StructureCoordinator.stepId(txn, step, scope);
    for (LineageEntry e : lineage(address(1), scope)) {
      try {
        if (Mutation.parseFrom(e.getMutation().getMutation()).getMutationId().equals(id)) {
          return true;
        }
      } catch (com.google.protobuf.InvalidProtocolBufferException x) {
        throw new AssertionError(x);
      }
    }
    return false;
  }

  SubmitResponse submit(Mutation m) {
    return MutationServiceGrpc.newBlockingStub(channel(address(0)))
        .withDeadlineAfter(30, TimeUnit.SECONDS)
        .submit(SubmitRequest.newBuilder().setMutation(Signing.sign(m, fabric.admin())).build());
  }

  /** Submits many mutations at once (the leader batches them into few Raft entries). */
  List<SubmitResponse> submitAll(List<Mutation> ms) {
    var stub =
        MutationServiceGrpc.newFutureStub(channel(address(0)))
            .withDeadlineAfter(60, TimeUnit.SECONDS);
    List<ListenableFuture<SubmitResponse>> fs = new ArrayList<>();
    for (Mutation m : ms) {
      fs.add(
          stub.submit(
              SubmitRequest.newBuilder().setMutation(Signing.sign(m, fabric.admin())).build()));
    }
    List<SubmitResponse> out = new ArrayList<>();
    for (var f : fs) {
      try {
        out.add(f.get());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      } catch (ExecutionException e) {
        throw new AssertionError("a batched submit failed: " + e.getCause(), e.getCause());
      }
    }
    return out;
  }

  static ObjectRecord record(String host) {
    return ObjectRecord.newBuilder()
        .addEndpoints(org.anf.proto.v1.Endpoint.newBuilder().setHost(host).setPort(443))
        .build();
  }

  // --- structural requests, signed by the admin key -------------------------------------------

  Mutation moveRequest(long source, String from, long dest, String to) {
    return factory
        .base(source)
        .setMutationId(factory.randomBytes(16))
        .setMove(
            Move.newBuilder()
                .setFrom(Alias.parse(from).toProto())
                .setTo(Alias.parse(to).toProto())
                .setPhase(TxnPhase.TXN_PHASE_PREPARE)
                .setPeerScopeId(dest))
        .build();
  }

  Mutation splitRequest(long scope, List<String> labels) {
    return splitRequest(scope, labels, Policies.ownedBy(fabric.admin().publicKey()));
  }

  /** A split whose children start under {@code policy}. */
  Mutation splitRequest(long scope, List<String> labels, Policy policy) {
    ScopeMeta meta = meta(scope);
    Alias path = Alias.fromProto(meta.getPath());
    List<SplitChild> children = new ArrayList<>();
    for (String l : labels) {
      children.add(factory.splitChild(scope, path, l, meta.getAnchors(), policy));
    }
    ByteString txn = factory.randomBytes(16);
    return factory.split(scope, TxnPhase.TXN_PHASE_LOCAL, txn, children).toBuilder()
        .setMutationId(txn)
        .build();
  }

  Mutation mergeRequest(long child) {
    ScopeMeta meta = meta(child);
    return factory
        .base(meta.getParentScopeId())
        .setMutationId(factory.randomBytes(16))
        .setMerge(
            Merge.newBuilder()
                .setChildScopeId(child)
                .setChild(meta.getPath())
                .setPhase(TxnPhase.TXN_PHASE_PREPARE))
        .build();
  }

  StructureRequest req(Mutation m) {
    return StructureRequest.newBuilder().setRequest(Signing.sign(m, fabric.admin())).build();
  }

  StructureResponse move(int via, Mutation m) {
    return structure(via).move(req(m));
  }

  StructureResponse split(int via, Mutation m) {
    return structure(via).split(req(m));
  }

  StructureResponse merge(int via, Mutation m) {
    return structure(via).merge(req(m));
  }

  // --- checks ---------------------------------------------------------------------------------

  /** Waits until no anchor reports an open transaction or hosts a sealed (merged) scope. */
  void awaitSettled(Duration timeout) {
    TestCluster.await(
        "every transaction finished and every merged group dissolved",
        timeout,
        () -> {
          for (int i = 0; i < fabric.nodes().size(); i++) {
            if (structure(i)
                    .openTransactions(OpenTransactionsRequest.getDefaultInstance())
                    .getTransactionsCount()
                > 0) {
              return false;
            }
            for (ScopeStateMachine sm : fabric.nodes().get(i).registry().all().values()) {
              ScopeMeta m = sm.store().read(() -> sm.state().metaOrNull());
              if (m != null && m.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_SEALED) {
                return false;
              }
            }
          }
          return true;
        });
  }

  /** Every lineage entry of a scope as one anchor holds it. */
  List<LineageEntry> lineage(String anchor, long scope) {
    List<LineageEntry> chain = new ArrayList<>();
    long from = 1;
    GetLineageResponse page;
    do {
      page =
          anchors(anchor)
              .getLineage(
                  GetLineageRequest.newBuilder()
                      .setScopeId(scope)
                      .setFromSeq(from)
                      .setLimit(5000)
                      .build());
      chain.addAll(page.getEntriesList());
      from = chain.isEmpty() ? from : chain.get(chain.size() - 1).getSeq() + 1;
    } while (page.getTruncated());
    return chain;
  }

  /**
   * For every scope hosted: its chain verifies (links, signatures, replay) on every anchor, and
   * every anchor ends with the same head and the same state digest.
   */
  void verifyEveryScopeOnEveryAnchor() {
    verifyScopesOnEveryAnchor(fabric.nodes().get(0).registry().all().keySet());
  }

  /** {@link #verifyEveryScopeOnEveryAnchor} for some scopes only. */
  void verifyScopesOnEveryAnchor(java.util.Collection<Long> scopes) {
    for (long scope : List.copyOf(scopes)) {
      TestCluster.await(
          "anchors of scope " + Long.toHexString(scope) + " agree on the head",
          Duration.ofSeconds(30),
          () -> statuses(scope).stream().map(ScopeStatus::getLineageSeq).distinct().count() == 1);
      List<ScopeStatus> st = statuses(scope);
      for (ScopeStatus s : st) {
        assertEquals(st.get(0).getStateDigest(), s.getStateDigest(), "state digest of " + scope);
        assertEquals(st.get(0).getLineageHead(), s.getLineageHead());
      }
      for (AnchorNode n : fabric.nodes()) {
        var report =
            ChainVerifier.verify(
                lineage(n.address(), scope), new ChainVerifier.Options().replay(true));
        assertTrue(
            report.ok(), "scope " + Long.toHexString(scope) + " on " + n.nodeId() + ": " + report);
      }
    }
  }

  List<ScopeStatus> statuses(long scope) {
    List<ScopeStatus> out = new ArrayList<>();
    for (AnchorNode n : fabric.nodes()) {
      out.add(
          AdminServiceGrpc.newBlockingStub(channel(n.address()))
              .withDeadlineAfter(30, TimeUnit.SECONDS)
              .status(StatusRequest.newBuilder().setScopeId(scope).build())
              .getScopes(0));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    channels.values().forEach(ManagedChannel::shutdownNow);
    fabric.close();
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
