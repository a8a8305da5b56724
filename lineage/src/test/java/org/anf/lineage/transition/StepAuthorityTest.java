package org.anf.lineage.transition;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.TxnPhase;
import org.junit.jupiter.api.Test;

/**
 * Structural steps taken by an anchor on a client's behalf: the anchor must be one of the scope's,
 * the client's signed request must name the step and hold the right, and a parent takes a child
 * back only as the child's policy allows (the ENS-fuse rule).
 */
class StepAuthorityTest {
  final FabricModel m = new FabricModel(7);
  final KeyPair anchor = TestKeys.key("anchor-a1");
  final KeyPair stranger = TestKeys.key("stranger");

  private ErrorCode refusal(Outcome o) {
    return assertInstanceOf(Outcome.Refused.class, o).error().code();
  }

  private Mutation splitRequest(long scope, List<SplitChild> children, ByteString txn) {
    return m.factory.split(scope, TxnPhase.TXN_PHASE_LOCAL, txn, children).toBuilder()
        .setMutationId(txn)
        .build();
  }

  @Test
  void anAnchorSplitsOnlyWithTheOwnersSignedRequest() {
    long scope = m.createChild(m.root, Alias.parse("svc"));
    m.apply(
        m.factory.bind(
            scope, Alias.parse("svc@a/x"), org.anf.proto.v1.ObjectRecord.getDefaultInstance()));
    List<SplitChild> children =
        List.of(
            m.factory.splitChild(
                scope,
                Alias.parse("svc"),
                "a",
                FabricModel.anchors("a1", "a2", "a3"),
                Policies.ownedBy(m.admin.publicKey())));
    ByteString txn = m.factory.randomBytes(16);
    Mutation prepare = m.factory.split(scope, TxnPhase.TXN_PHASE_PREPARE, txn, children);

    assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(m.apply(prepare, anchor)), "no request");
    SignedMutation byStranger = Signing.sign(splitRequest(scope, children, txn), stranger);
    assertEquals(
        ErrorCode.NOT_AUTHORIZED,
        refusal(m.apply(prepare.toBuilder().setAuthorization(byStranger).build(), anchor)),
        "a request from a key without SPLIT");
    SignedMutation byOwner = Signing.sign(splitRequest(scope, children, txn), m.admin);
    Mutation authorized = prepare.toBuilder().setAuthorization(byOwner).build();
    assertEquals(
        ErrorCode.NOT_AUTHORIZED,
        refusal(m.apply(authorized, stranger)),
        "a non-anchor carrying a valid request");
    SignedMutation otherTxn =
        Signing.sign(splitRequest(scope, children, m.factory.randomBytes(16)), m.admin);
    assertEquals(
        ErrorCode.INVALID_ARGUMENT,
        refusal(m.apply(prepare.toBuilder().setAuthorization(otherTxn).build(), anchor)),
        "a request for another transaction");
    assertInstanceOf(Outcome.Applied.class, m.apply(authorized, anchor));
    // The anchor finishes the authorized intent on its own signature.
    assertInstanceOf(
        Outcome.Applied.class,
        m.apply(m.factory.split(scope, TxnPhase.TXN_PHASE_ABORT, txn, List.of()), anchor));
  }

  @Test
  void aParentTakesAChildBackOnlyIfTheChildsPolicyAllowsIt() {
    long parent = m.createChild(m.root, Alias.parse("org"));
    long child = m.createChild(parent, Alias.parse("org@acme"));
    KeyPair acme = TestKeys.key("acme");
    // The child's owner hands it over and turns reclaiming off: emancipated.
    m.apply(m.factory.transfer(child, List.of(acme.publicKey()), true));
    m.setOwner(child, acme);
    var policy = m.fabric.meta(child).getPolicy().toBuilder().setParentMayReclaim(false).build();
    m.apply(m.factory.setPolicy(child, policy));

    ByteString txn = m.factory.randomBytes(16);
    Mutation request =
        m.factory
            .base(parent)
            .setMutationId(txn)
            .setMerge(
                Merge.newBuilder()
                    .setChildScopeId(child)
                    .setChild(Alias.parse("org@acme").toProto())
                    .setPhase(TxnPhase.TXN_PHASE_PREPARE))
            .build();
    SignedMutation byParentOwner = Signing.sign(request, m.admin);
    Mutation freeze =
        m
            .factory
            .merge(
                child,
                org.anf.proto.v1.MergeRole.MERGE_ROLE_CHILD,
                TxnPhase.TXN_PHASE_PREPARE,
                txn,
                child,
                Alias.parse("org@acme"),
                List.of(),
                0,
                ByteString.EMPTY)
            .toBuilder()
            .setAuthorization(byParentOwner)
            .build();
    Outcome refused = m.apply(freeze, anchor);
    assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(refused));
    assertTrue(
        String.valueOf(((Outcome.Refused) refused).error().getMessage())
            .contains("parent_may_reclaim"));

    m.apply(m.factory.setPolicy(child, policy.toBuilder().setParentMayReclaim(true).build()));
    assertInstanceOf(Outcome.Applied.class, m.apply(freeze, anchor));
    assertEquals(
        ScopeLifecycle.SCOPE_LIFECYCLE_FROZEN, m.fabric.meta(child).getLifecycle(), "frozen");
  }

  @Test
  void stepIdsAreStablePerTransactionStepAndScope() {
    ByteString txn = ByteString.copyFrom(new byte[16]);
    assertEquals(
        StructureCoordinator.stepId(txn, "move.prepare-source", 1),
        StructureCoordinator.stepId(txn, "move.prepare-source", 1));
    assertTrue(
        !StructureCoordinator.stepId(txn, "move.prepare-source", 1)
            .equals(StructureCoordinator.stepId(txn, "move.prepare-source", 2)));
  }
}
