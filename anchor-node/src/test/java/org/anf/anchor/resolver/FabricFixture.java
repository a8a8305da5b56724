package org.anf.anchor.resolver;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.dev.DevFabric;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.ObjectKind;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;

/**
 * A dev fabric on ephemeral ports (3 anchors and the demo scopes by default), with signed submits
 * by the dev admin key.
 */
final class FabricFixture implements AutoCloseable {
  final DevFabric fabric;
  final MutationFactory factory =
      new MutationFactory(new SecureRandom(), System::currentTimeMillis);
  private final ManagedChannel[] channels;

  FabricFixture(Path dir) {
    this(dir, 3, DevFabric.DEMO_SCOPES);
  }

  /** {@code anchors} nodes hosting the root; {@code demoScopes} created on all of them. */
  FabricFixture(Path dir, int anchors, List<String> demoScopes) {
    DevFabric.Options o = DevFabric.Options.ephemeral(dir, anchors);
    fabric =
        DevFabric.start(
            new DevFabric.Options(
                o.dataDir(),
                o.host(),
                o.ports(),
                o.raftPorts(),
                o.metricsPorts(),
                o.snapshotEveryEntries(),
                demoScopes));
    channels = new ManagedChannel[anchors];
  }

  /** The configured address of anchor {@code i} (also while it is down). */
  String address(int i) {
    return fabric.options().host() + ":" + fabric.options().ports().get(i);
  }

  List<String> addresses() {
    List<String> out = new ArrayList<>();
    for (AnchorNode n : fabric.nodes()) {
      out.add(n.address());
    }
    return out;
  }

  /** Addresses from the options (valid while a node is down, too). */
  List<String> configuredAddresses() {
    List<String> out = new ArrayList<>();
    for (int p : fabric.options().ports()) {
      out.add(fabric.options().host() + ":" + p);
    }
    return out;
  }

  private synchronized ManagedChannel channel(int node) {
    if (channels[node] == null || channels[node].isShutdown()) {
      channels[node] = NettyChannelBuilder.forTarget(address(node)).usePlaintext().build();
    }
    return channels[node];
  }

  SubmitResponse submit(int node, Mutation m) {
    return MutationServiceGrpc.newBlockingStub(channel(node))
        .withDeadlineAfter(30, java.util.concurrent.TimeUnit.SECONDS)
        .submit(SubmitRequest.newBuilder().setMutation(Signing.sign(m, fabric.admin())).build());
  }

  /** Binds through anchor {@code node} and returns once every anchor has applied it. */
  Uid bind(int node, long scope, String alias, String host) {
    ObjectRecord rec =
        ObjectRecord.newBuilder()
            .setKind(ObjectKind.OBJECT_KIND_SERVICE)
            .addEndpoints(Endpoint.newBuilder().setHost(host).setPort(8080))
            .build();
    SubmitResponse r = submit(node, factory.bind(scope, Alias.parse(alias), rec));
    awaitApplied(scope, r.getEntry().getSeq());
    return Uid.fromProto(r.getUid());
  }

  /** The anchor ids ("a1", ...) of the scope's group, as its state says. */
  List<String> members(long scope) {
    for (AnchorNode n : fabric.nodes()) {
      ScopeStateMachine sm = n.scope(scope);
      if (sm != null) {
        org.anf.proto.v1.ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
        if (meta != null) {
          return meta.getAnchors().getAnchorsList().stream()
              .map(org.anf.proto.v1.AnchorInfo::getId)
              .toList();
        }
      }
    }
    throw new AssertionError("no anchor hosts scope " + Long.toHexString(scope));
  }

  /** BOUNDED reads may go to any anchor of the group: waits until every one has applied seq. */
  void awaitApplied(long scope, long seq) {
    List<String> members = members(scope);
    await(
        "entry " + seq + " of scope " + Long.toHexString(scope) + " applied on " + members,
        Duration.ofSeconds(30),
        () ->
            fabric.nodes().stream()
                .filter(n -> members.contains(n.nodeId()))
                .allMatch(
                    n -> {
                      ScopeStateMachine sm = n.scope(scope);
                      return sm != null && sm.store().read(() -> sm.state().headSeq()) >= seq;
                    }));
  }

  /** A cross-scope move through StructureService on anchor {@code node}, signed by the admin. */
  org.anf.proto.v1.StructureResponse move(
      int node, long source, String from, long dest, String to) {
    Mutation m =
        factory
            .base(source)
            .setMutationId(factory.randomBytes(16))
            .setMove(
                org.anf.proto.v1.Move.newBuilder()
                    .setFrom(Alias.parse(from).toProto())
                    .setTo(Alias.parse(to).toProto())
                    .setPhase(org.anf.proto.v1.TxnPhase.TXN_PHASE_PREPARE)
                    .setPeerScopeId(dest))
            .build();
    return org.anf.proto.v1.StructureServiceGrpc.newBlockingStub(channel(node))
        .withDeadlineAfter(120, java.util.concurrent.TimeUnit.SECONDS)
        .move(
            org.anf.proto.v1.StructureRequest.newBuilder()
                .setRequest(Signing.sign(m, fabric.admin()))
                .build());
  }

  static void await(String what, Duration timeout, BooleanSupplier cond) {
    org.anf.anchor.testing.TestCluster.await(what, timeout, cond);
  }

  @Override
  public void close() {
    for (ManagedChannel c : channels) {
      if (c != null) {
        c.shutdownNow();
      }
    }
    fabric.close();
  }
}
