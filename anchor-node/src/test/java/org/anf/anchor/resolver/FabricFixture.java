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

/** A 3-anchor dev fabric on ephemeral ports, with signed submits by the dev admin key. */
final class FabricFixture implements AutoCloseable {
  final DevFabric fabric;
  final MutationFactory factory =
      new MutationFactory(new SecureRandom(), System::currentTimeMillis);
  private final ManagedChannel[] channels;

  FabricFixture(Path dir) {
    fabric = DevFabric.start(DevFabric.Options.ephemeral(dir, 3));
    channels = new ManagedChannel[3];
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

  synchronized SubmitResponse submit(int node, Mutation m) {
    if (channels[node] == null || channels[node].isShutdown()) {
      channels[node] =
          NettyChannelBuilder.forTarget(configuredAddresses().get(node)).usePlaintext().build();
    }
    return MutationServiceGrpc.newBlockingStub(channels[node])
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
    // BOUNDED reads may go to any anchor: wait until every one has applied the bind.
    long seq = r.getEntry().getSeq();
    await(
        alias + " applied on every anchor",
        Duration.ofSeconds(30),
        () ->
            fabric.nodes().stream()
                .allMatch(
                    n -> {
                      ScopeStateMachine sm = n.scope(scope);
                      return sm != null && sm.store().read(() -> sm.state().headSeq()) >= seq;
                    }));
    return Uid.fromProto(r.getUid());
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
