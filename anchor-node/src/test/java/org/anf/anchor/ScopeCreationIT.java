package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.CreateScopeRequest;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.MembershipRequest;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeStatus;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/**
 * Who may create a scope: one root per anchor node (a root's genesis authorises itself, so nothing
 * else stops a stranger), scope 0 always naming the same root, and a child only with the policy its
 * parent delegated.
 */
class ScopeCreationIT {
  static final Duration WAIT = Duration.ofSeconds(30);

  static Mutation rootGenesis(TestCluster c, KeyPair owner, AnchorMap anchors) {
    return c.factory.genesis(
        0,
        Alias.ROOT,
        Policies.ownedBy(owner.publicKey()),
        anchors,
        0,
        List.of(),
        ByteString.EMPTY);
  }

  static boolean hasGenesis(@Nullable ScopeStateMachine sm) {
    return sm != null && sm.store().read(() -> sm.state().exists());
  }

  static void assertRefused(Runnable call, Status.Code code, String message) {
    assertThatThrownBy(call::run)
        .isInstanceOfSatisfying(
            StatusRuntimeException.class,
            e -> {
              assertThat(e.getStatus().getCode()).isEqualTo(code);
              assertThat(e.getStatus().getDescription()).contains(message);
            });
  }

  @Test
  void aSecondRootIsRefusedOnEveryPath() throws Exception {
    try (TestCluster c = new TestCluster(3)) {
      Mutation ours = rootGenesis(c, c.admin, c.anchorMap(c.all()));
      CreateScopeRequest create = CreateScopeRequest.newBuilder().setGenesis(c.sign(ours)).build();
      c.admin(0).createScope(create);
      long root = ours.getScopeId();
      TestCluster.await(
          "root applied everywhere",
          WAIT,
          () -> {
            for (int n = 0; n < 3; n++) {
              if (!Long.valueOf(root).equals(c.node(n).registry().root())) {
                return false;
              }
            }
            return true;
          });
      KeyPair stranger = TestKeys.key("stranger");
      Mutation rogue = rootGenesis(c, stranger, c.anchorMap(c.all()));
      for (int n = 0; n < 3; n++) {
        int node = n;
        assertRefused(
            () ->
                c.admin(node)
                    .createScope(
                        CreateScopeRequest.newBuilder()
                            .setGenesis(Signing.sign(rogue, stranger))
                            .build()),
            Status.Code.ALREADY_EXISTS,
            "already hosts the root scope");
        assertThat(c.node(n).groups().hosts(rogue.getScopeId())).isFalse();
      }
      // A retry of the root's own creation is no second root: it answers with the genesis.
      assertThat(c.admin(2).createScope(create).getGenesisEntry().getSeq()).isEqualTo(1);
      // Past the service, straight to Raft: the group's leader refuses it before the log.
      long rogueId = rogue.getScopeId();
      c.node(0).groups().createGroup(rogueId, c.anchorMap(c.all()));
      c.node(0).groups().awaitLeader(rogueId, 15_000);
      MutationReply r =
          c.node(0).groups().submitTo(rogueId, c.anchorMap(c.all()), Signing.sign(rogue, stranger));
      assertThat(r.getRefused().getCode()).isEqualTo("ALREADY_EXISTS");
      assertThat(r.getRefused().getMessage()).contains("already hosts the root scope");
      for (int n = 0; n < 3; n++) {
        assertThat(hasGenesis(c.node(n).registry().get(rogueId))).isFalse();
        assertThat(c.node(n).registry().root()).isEqualTo(root);
      }
      assertThat(c.node(0).groups().dissolve(rogueId)).isEqualTo(3);
      // Scope 0 is still the one root.
      assertThat(
              c.anchors(1)
                  .getLineage(GetLineageRequest.newBuilder().setScopeId(0).build())
                  .getEntries(0)
                  .getScopeId())
          .isEqualTo(root);
    }
  }

  @Test
  void scopeZeroNamesTheSameRootEvenWhereTwoAreHosted() throws Exception {
    try (TestCluster c = new TestCluster(2)) {
      // Two roots on two nodes (each node has one), then one root's group grows onto the other
      // node: that node now hosts both, and scope 0 must not depend on a map's order.
      long r1 = c.createRoot(0);
      Mutation g2 = rootGenesis(c, c.admin, c.anchorMap(1));
      c.admin(1).createScope(CreateScopeRequest.newBuilder().setGenesis(c.sign(g2)).build());
      long r2 = g2.getScopeId();
      c.admin(0)
          .addAnchor(
              MembershipRequest.newBuilder()
                  .setMutation(c.sign(c.factory.addAnchor(r1, c.node(1).anchorInfo())))
                  .build());
      TestCluster.await(
          "a2 hosts both roots", WAIT, () -> hasGenesis(c.node(1).registry().get(r1)));
      long expected = Long.compareUnsigned(r1, r2) < 0 ? r1 : r2;
      for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 5; i++) {
          assertThat(
                  c.anchors(1)
                      .getLineage(GetLineageRequest.newBuilder().setScopeId(0).build())
                      .getEntries(0)
                      .getScopeId())
              .isEqualTo(expected);
        }
        // The same after a restart, whatever order the groups come back in.
        c.stop(1);
        c.start(1);
        TestCluster.await(
            "both roots back on a2",
            WAIT,
            () ->
                c.node(1).registry().get(r1) != null
                    && c.node(1).registry().get(r2) != null
                    && Long.valueOf(expected).equals(c.node(1).registry().root()));
      }
    }
  }

  @Test
  void aChildWhoseGenesisPolicyIsNotTheDelegatedOneIsRefused() throws Exception {
    try (TestCluster c = new TestCluster(3)) {
      long root = c.createRoot(c.all());
      // Node 0 may not have applied the genesis yet when the leader answered.
      AnchorClusterIT.awaitConverged(c, root, 0, 1, 2);
      ScopeStatus before = c.status(0, root);
      AnchorMap anchors = c.anchorMap(c.all());
      Policy delegated = Policies.ownedBy(c.admin.publicKey());
      // The genesis brings a policy owned by someone else than the parent delegated to.
      Policy brought = Policies.ownedBy(TestKeys.key("usurper").publicKey());
      Mutation genesis =
          c.factory.genesis(
              root, Alias.parse("svc"), brought, anchors, 1, List.of(), ByteString.EMPTY);
      Delegation d =
          Delegation.newBuilder()
              .setChild(Alias.parse("svc").toProto())
              .setChildScopeId(genesis.getScopeId())
              .setAnchors(anchors.toBuilder().setVersion(1))
              .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(delegated)))
              .build();
      CreateScopeRequest req =
          CreateScopeRequest.newBuilder()
              .setDelegate(c.sign(c.factory.delegate(root, d)))
              .setGenesis(Signing.sign(genesis, TestKeys.key("usurper")))
              .build();
      assertRefused(
          () -> c.admin(1).createScope(req),
          Status.Code.FAILED_PRECONDITION,
          "is not the one the parent's delegation records");
      // Nothing changed: no delegation in the parent, no group for the child anywhere.
      for (int n = 0; n < 3; n++) {
        assertThat(c.node(n).groups().hosts(genesis.getScopeId())).isFalse();
      }
      ScopeStatus after = c.status(0, root);
      assertThat(after.getLineageSeq()).isEqualTo(before.getLineageSeq());
      assertThat(after.getStateDigest()).isEqualTo(before.getStateDigest());
      // With the delegated policy the same child is created.
      long svc = c.createScope(root, "svc", c.all());
      assertThat(svc).isNotZero();
      assertThat(c.status(0, svc).getPolicy().getOwnerKeys(0))
          .isEqualTo(ByteString.copyFrom(c.admin.publicKey()));
    }
  }
}
