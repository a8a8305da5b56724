package org.anf.lineage.transition;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
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

  /** A child of {@code parent} at {@code path} whose genesis policy sets the fuse as given. */
  private long child(long parent, String path, boolean parentMayReclaim) {
    Policy policy =
        Policies.ownedBy(m.owner(parent).publicKey()).toBuilder()
            .setParentMayReclaim(parentMayReclaim)
            .build();
    return m.createChild(parent, Alias.parse(path), policy);
  }

  private Mutation mergeRequest(long parent, long child, String childAlias, ByteString txn) {
    return m.factory
        .base(parent)
        .setMutationId(txn)
        .setMerge(
            Merge.newBuilder()
                .setChildScopeId(child)
                .setChild(Alias.parse(childAlias).toProto())
                .setPhase(TxnPhase.TXN_PHASE_PREPARE))
        .build();
  }

  private Mutation freeze(long child, String childAlias, ByteString txn, SignedMutation request) {
    return m
        .factory
        .merge(
            child,
            MergeRole.MERGE_ROLE_CHILD,
            TxnPhase.TXN_PHASE_PREPARE,
            txn,
            child,
            Alias.parse(childAlias),
            List.of(),
            0,
            ByteString.EMPTY)
        .toBuilder()
        .setAuthorization(request)
        .build();
  }

  private static String reason(Outcome o) {
    return String.valueOf(assertInstanceOf(Outcome.Refused.class, o).error().getMessage());
  }

  @Test
  void aParentTakesAChildBackOnlyIfTheChildsPolicyAllowsIt() {
    long parent = m.createChild(m.root, Alias.parse("org"));
    long fused = child(parent, "org@acme", false);
    long open = child(parent, "org@beta", true);
    KeyPair acme = TestKeys.key("acme");
    // The emancipated child's owner hands it over: the parent's owner holds nothing in it now.
    m.apply(m.factory.transfer(fused, List.of(acme.publicKey()), true));
    m.setOwner(fused, acme);

    // The child's side: an anchor freezing it for the parent's owner is refused.
    ByteString txn = m.factory.randomBytes(16);
    SignedMutation byParentOwner =
        Signing.sign(mergeRequest(parent, fused, "org@acme", txn), m.admin);
    Outcome refused = m.apply(freeze(fused, "org@acme", txn, byParentOwner), anchor);
    assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(refused));
    assertTrue(reason(refused).contains("parent_may_reclaim"));

    // The parent's side, taken directly by a key holding MERGE there (no coordinator, no child
    // step): refused from the fuse the parent recorded, and nothing changes.
    byte[] before = StateDigest.of(m.fabric.state(parent).kv());
    Outcome direct =
        m.apply(
            m.factory.merge(
                parent,
                MergeRole.MERGE_ROLE_PARENT,
                TxnPhase.TXN_PHASE_PREPARE,
                m.factory.randomBytes(16),
                fused,
                Alias.parse("org@acme"),
                List.of(),
                0,
                ByteString.EMPTY));
    assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(direct));
    assertTrue(reason(direct).contains("org@acme"), reason(direct));
    assertTrue(reason(direct).contains("parent_may_reclaim is false"), reason(direct));
    assertArrayEquals(before, StateDigest.of(m.fabric.state(parent).kv()), "state unchanged");
    // Through the coordinator as well: aborted, the child still delegated and active.
    assertThrows(
        AnfException.class, () -> m.coordinator().merge(parent, fused, Alias.parse("org@acme")));
    assertEquals(
        fused,
        java.util.Objects.requireNonNull(m.fabric.state(parent).delegation("acme"))
            .getChildScopeId());
    assertEquals(ScopeLifecycle.SCOPE_LIFECYCLE_ACTIVE, m.fabric.meta(fused).getLifecycle());

    // A child whose policy allows it: the anchor freezes it on the parent owner's request, and
    // the coordinator merges it back.
    ByteString txn2 = m.factory.randomBytes(16);
    SignedMutation request2 = Signing.sign(mergeRequest(parent, open, "org@beta", txn2), m.admin);
    assertInstanceOf(
        Outcome.Applied.class, m.apply(freeze(open, "org@beta", txn2, request2), anchor));
    assertEquals(ScopeLifecycle.SCOPE_LIFECYCLE_FROZEN, m.fabric.meta(open).getLifecycle());
    m.apply(
        m.factory.merge(
            open,
            MergeRole.MERGE_ROLE_CHILD,
            TxnPhase.TXN_PHASE_ABORT,
            txn2,
            open,
            Alias.parse("org@beta"),
            List.of(),
            0,
            ByteString.EMPTY),
        anchor);
    m.coordinator().merge(parent, open, Alias.parse("org@beta"));
    assertEquals(ScopeLifecycle.SCOPE_LIFECYCLE_SEALED, m.fabric.meta(open).getLifecycle());
  }

  @Test
  void theParentRecordsTheFuseFromTheChildsPolicyAndTheChildCannotChangeIt() {
    long parent = m.createChild(m.root, Alias.parse("org"));
    long fused = child(parent, "org@acme", false);
    long open = child(parent, "org@beta", true);
    Delegation acme = java.util.Objects.requireNonNull(m.fabric.state(parent).delegation("acme"));
    Delegation beta = java.util.Objects.requireNonNull(m.fabric.state(parent).delegation("beta"));
    assertTrue(acme.hasParentMayReclaim() && !acme.getParentMayReclaim(), "fused recorded");
    assertTrue(beta.hasParentMayReclaim() && beta.getParentMayReclaim(), "open recorded");
    assertTrue(Policies.matchesDelegation(acme, m.fabric.meta(fused).getPolicy()));

    // Neither child can turn its fuse over; other policy changes go through.
    for (long c : List.of(fused, open)) {
      Policy p = m.fabric.meta(c).getPolicy();
      Outcome flip =
          m.apply(
              m.factory.setPolicy(
                  c, p.toBuilder().setParentMayReclaim(!p.getParentMayReclaim()).build()));
      assertEquals(ErrorCode.PRECONDITION_FAILED, refusal(flip));
      assertTrue(reason(flip).contains("parent_may_reclaim is fixed"), reason(flip));
      assertInstanceOf(
          Outcome.Applied.class,
          m.apply(m.factory.setPolicy(c, p.toBuilder().setCacheTtlSeconds(7).build())));
    }
    // The root has no parent: its flag is its own business.
    Policy root = m.fabric.meta(m.root).getPolicy();
    assertInstanceOf(
        Outcome.Applied.class,
        m.apply(m.factory.setPolicy(m.root, root.toBuilder().setParentMayReclaim(false).build())));
  }

  @Test
  void aDelegationCarriesAChildPolicyThatMatchesItsDigestAndNeverAClaimedFuse() {
    long parent = m.createChild(m.root, Alias.parse("org"));
    Policy policy =
        Policies.ownedBy(m.admin.publicKey()).toBuilder().setParentMayReclaim(false).build();
    Delegation d =
        Delegation.newBuilder()
            .setChild(Alias.parse("org@kid").toProto())
            .setChildScopeId(12345)
            .setAnchors(FabricModel.anchors("a1"))
            .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(policy)))
            .build();
    // A policy other than the digested one: refused, naming the field.
    Outcome other =
        m.apply(
            m.factory.delegate(parent, d, policy.toBuilder().setParentMayReclaim(true).build()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, refusal(other));
    assertTrue(reason(other).contains("delegate.child_policy"), reason(other));
    // A fuse the client claims for itself: refused, the parent records it only from the policy.
    Outcome claimed =
        m.apply(
            m.factory.delegate(parent, d.toBuilder().setParentMayReclaim(true).build(), policy));
    assertEquals(ErrorCode.INVALID_ARGUMENT, refusal(claimed));
    assertTrue(reason(claimed).contains("parent_may_reclaim"), reason(claimed));
    // Without the policy (older callers) the record holds no fuse.
    assertInstanceOf(Outcome.Applied.class, m.apply(m.factory.delegate(parent, d)));
    assertFalse(
        java.util.Objects.requireNonNull(m.fabric.state(parent).delegation("kid"))
            .hasParentMayReclaim());
  }

  @Test
  void aSubtreeHoldingAnEmancipatedChildDoesNotMoveWithinTheScope() {
    long org = m.createChild(m.root, Alias.parse("org"));
    long acme = child(org, "org@team/acme", false);
    child(org, "org@crew/beta", true);
    m.apply(m.factory.bind(org, Alias.parse("org@team/site"), ObjectRecord.getDefaultInstance()));
    m.apply(m.factory.bind(org, Alias.parse("org@crew/site"), ObjectRecord.getDefaultInstance()));
    byte[] before = StateDigest.of(m.fabric.state(org).kv());

    // The owner holds MOVE in org, and still: the subtree and the delegated alias itself stay.
    for (String from : List.of("org@team", "org@team/acme")) {
      Outcome o = m.apply(m.factory.moveLocal(org, Alias.parse(from), Alias.parse("org@moved")));
      assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(o), from);
      assertTrue(reason(o).contains("cannot move '" + from + "'"), reason(o));
      assertTrue(reason(o).contains("'org@team/acme' is delegated"), reason(o));
    }
    assertArrayEquals(before, StateDigest.of(m.fabric.state(org).kv()), "state unchanged");
    assertEquals(
        acme,
        m.fabric.resolve(Alias.parse("org@team/acme/x")).getScopeId(),
        "the child still answers under its name");

    // A child whose policy allows it still does not move within the scope: it records its name,
    // which only a move across scopes (that re-parents it) rewrites.
    Outcome o =
        m.apply(m.factory.moveLocal(org, Alias.parse("org@crew"), Alias.parse("org@moved")));
    assertEquals(ErrorCode.PRECONDITION_FAILED, refusal(o));
    assertTrue(reason(o).contains("'org@crew/beta' is delegated"), reason(o));
    assertArrayEquals(before, StateDigest.of(m.fabric.state(org).kv()), "state unchanged");
    assertTrue(m.fabric.state(org).delegation("crew/beta") != null, "delegation stays");
  }

  @Test
  void aClientTakingTheSourceStepItselfCannotMoveAnEmancipatedChildAway() {
    long org = m.createChild(m.root, Alias.parse("org"));
    long dest = m.createChild(m.root, Alias.parse("svc"));
    child(org, "org@team/acme", false);
    child(org, "org@crew/beta", true);
    byte[] before = StateDigest.of(m.fabric.state(org).kv());

    // The owner holds MOVE, so StepAuthority.move lets it take the PREPARE itself: the fuse
    // still refuses it.
    Outcome prepare =
        m.apply(
            m.factory.movePrepare(
                org,
                MoveRole.MOVE_ROLE_SOURCE,
                Alias.parse("org@team"),
                Alias.parse("svc@team"),
                m.factory.randomBytes(16),
                dest));
    assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(prepare));
    assertTrue(reason(prepare).contains("parent_may_reclaim is false"), reason(prepare));
    assertArrayEquals(before, StateDigest.of(m.fabric.state(org).kv()), "state unchanged");
    // Through the coordinator: refused at the first step, both scopes unchanged.
    byte[] destBefore = StateDigest.of(m.fabric.state(dest).kv());
    AnfException e =
        assertThrows(
            AnfException.class,
            () ->
                m.coordinator().move(org, Alias.parse("org@team"), dest, Alias.parse("svc@team")));
    assertEquals(ErrorCode.NOT_AUTHORIZED, e.code());
    assertArrayEquals(before, StateDigest.of(m.fabric.state(org).kv()));
    assertArrayEquals(destBefore, StateDigest.of(m.fabric.state(dest).kv()));

    // The reclaimable child moves to the other scope, its delegation with it.
    m.coordinator().move(org, Alias.parse("org@crew"), dest, Alias.parse("svc@crew"));
    Delegation moved =
        java.util.Objects.requireNonNull(m.fabric.state(dest).delegation("crew/beta"));
    assertTrue(moved.hasParentMayReclaim() && moved.getParentMayReclaim(), "fuse travels along");
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
