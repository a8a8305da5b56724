package org.anf.lineage.transition;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.TxnPhase;
import org.junit.jupiter.api.Test;

/**
 * A cross-scope move of a subtree that holds a delegated child: the child (and every scope below
 * it) records a re-parent intent and, on commit, its new path, parent and depth, so it binds under
 * its new name and refuses the old one; a refused child intent aborts every side.
 */
class ReparentTest {
  final FabricModel m = new FabricModel(11);
  final KeyPair anchor = TestKeys.key("anchor-a1");

  private long child(long parent, String path, boolean parentMayReclaim) {
    Policy policy =
        Policies.ownedBy(m.owner(parent).publicKey()).toBuilder()
            .setParentMayReclaim(parentMayReclaim)
            .build();
    return m.createChild(parent, Alias.parse(path), policy);
  }

  private static List<EffectKind> effects(List<LineageEntry> chain) {
    List<EffectKind> out = new ArrayList<>();
    for (LineageEntry e : chain) {
      for (EffectItem i : e.getEffect().getItemsList()) {
        out.add(i.getKind());
      }
    }
    return out;
  }

  private static ErrorCode refusal(Outcome o) {
    return assertInstanceOf(Outcome.Refused.class, o).error().code();
  }

  @Test
  void aMovedChildAndItsOwnChildTakeTheirNewPathParentAndDepth() {
    long user = m.createChild(m.root, Alias.parse("user"));
    long svc = m.createChild(m.root, Alias.parse("svc"));
    long deep = child(svc, "svc@deep", true);
    m.apply(m.factory.bind(user, Alias.parse("user@a/x"), ObjectRecord.getDefaultInstance()));
    long team = child(user, "user@a/team", true);
    long dev = child(team, "user@a/team/dev", true);
    m.apply(
        m.factory.bind(team, Alias.parse("user@a/team/old"), ObjectRecord.getDefaultInstance()));

    m.coordinator().move(user, Alias.parse("user@a"), deep, Alias.parse("svc@deep/b"));

    ScopeMeta t = m.fabric.meta(team);
    assertEquals("svc@deep/b/team", t.getPath().getText());
    assertEquals(deep, t.getParentScopeId());
    assertEquals(m.fabric.meta(deep).getDepth() + 1, t.getDepth());
    ScopeMeta d = m.fabric.meta(dev);
    assertEquals("svc@deep/b/team/dev", d.getPath().getText());
    assertEquals(team, d.getParentScopeId(), "a scope further down keeps its parent");
    assertEquals(t.getDepth() + 1, d.getDepth());
    Delegation inTeam = Objects.requireNonNull(m.fabric.state(team).delegation("dev"));
    assertEquals("svc@deep/b/team/dev", inTeam.getChild().getText());
    assertEquals(d.getDepth(), inTeam.getDepth());
    Delegation inDest = Objects.requireNonNull(m.fabric.state(deep).delegation("b/team"));
    assertEquals(t.getDepth(), inDest.getDepth(), "the destination records the new depth");
    assertTrue(m.fabric.state(team).openTxns().isEmpty());
    assertTrue(m.fabric.state(dev).openTxns().isEmpty());

    // Binds under the new name, refuses the old one.
    assertInstanceOf(
        Outcome.Applied.class,
        m.apply(
            m.factory.bind(
                team, Alias.parse("svc@deep/b/team/new"), ObjectRecord.getDefaultInstance())));
    assertEquals(
        ErrorCode.INVALID_ARGUMENT,
        refusal(
            m.apply(
                m.factory.bind(
                    team, Alias.parse("user@a/team/new2"), ObjectRecord.getDefaultInstance()))));
    assertInstanceOf(
        Outcome.Applied.class,
        m.apply(
            m.factory.bind(
                dev, Alias.parse("svc@deep/b/team/dev/y"), ObjectRecord.getDefaultInstance())));

    // Each child's lineage records the intent and the re-parent.
    List<EffectKind> teamFx = effects(m.fabric.lineage(team));
    int locked = teamFx.lastIndexOf(EffectKind.EFFECT_KIND_LOCKED);
    assertTrue(
        locked >= 0 && teamFx.indexOf(EffectKind.EFFECT_KIND_REPARENTED) > locked, "" + teamFx);
    assertTrue(effects(m.fabric.lineage(dev)).contains(EffectKind.EFFECT_KIND_REPARENTED));

    // The old names: the source redirects the old subtree, names in the child follow.
    assertEquals(
        "svc@deep/b/team/old",
        m.fabric.resolve(Alias.parse("user@a/team/old")).getCanonicalAlias().getText());
  }

  @Test
  void aChildThatRefusesItsIntentAbortsEverySide() {
    long user = m.createChild(m.root, Alias.parse("user"));
    long svc = m.createChild(m.root, Alias.parse("svc"));
    long team = child(user, "user@a/team", true);
    m.apply(m.factory.bind(user, Alias.parse("user@a/x"), ObjectRecord.getDefaultInstance()));
    m.apply(m.factory.bind(team, Alias.parse("user@a/team/y"), ObjectRecord.getDefaultInstance()));
    // The child has a transaction of its own open (a client moving y away, never finished).
    ByteString own = m.factory.randomBytes(16);
    assertInstanceOf(
        Outcome.Applied.class,
        m.apply(
            m.factory.movePrepare(
                team,
                MoveRole.MOVE_ROLE_SOURCE,
                Alias.parse("user@a/team/y"),
                Alias.parse("svc@y"),
                own,
                svc)));
    byte[] teamBefore = StateDigest.of(m.fabric.state(team).kv());

    AnfException e =
        assertThrows(
            AnfException.class,
            () -> m.coordinator().move(user, Alias.parse("user@a"), svc, Alias.parse("svc@b")));
    assertEquals(ErrorCode.LOCKED, e.code());
    assertTrue(m.fabric.state(user).openTxns().isEmpty(), "source aborted");
    assertTrue(m.fabric.state(svc).openTxns().isEmpty(), "destination aborted");
    List<EffectKind> src = effects(m.fabric.lineage(user));
    List<EffectKind> dst = effects(m.fabric.lineage(svc));
    assertEquals(EffectKind.EFFECT_KIND_UNLOCKED, src.get(src.size() - 1));
    assertEquals(EffectKind.EFFECT_KIND_UNLOCKED, dst.get(dst.size() - 1));
    assertArrayEquals(teamBefore, StateDigest.of(m.fabric.state(team).kv()), "child untouched");
    assertEquals("user@a/team", m.fabric.meta(team).getPath().getText());
  }

  @Test
  void anAnchorTakesAChildsIntentOnlyForTheRequestedMoveAndAsItsFuseAllows() {
    long org = m.createChild(m.root, Alias.parse("org"));
    long svc = m.createChild(m.root, Alias.parse("svc"));
    long fused = child(org, "org@t/acme", false);
    long open = child(org, "org@t/beta", true);
    KeyPair acme = TestKeys.key("acme");
    m.apply(m.factory.transfer(fused, List.of(acme.publicKey()), true));
    m.setOwner(fused, acme);
    ByteString txn = m.factory.randomBytes(16);
    Mutation request =
        m.factory
            .base(org)
            .setMutationId(txn)
            .setMove(
                Move.newBuilder()
                    .setFrom(Alias.parse("org@t").toProto())
                    .setTo(Alias.parse("svc@t").toProto())
                    .setPhase(TxnPhase.TXN_PHASE_PREPARE)
                    .setPeerScopeId(svc))
            .build();
    SignedMutation byOwner = Signing.sign(request, m.admin);

    // The emancipated child refuses the parent's owner; the reclaimable one accepts.
    Outcome refused = m.apply(intent(fused, "org@t/acme", "svc@t/acme", svc, txn, byOwner), anchor);
    assertEquals(ErrorCode.NOT_AUTHORIZED, refusal(refused));
    assertTrue(
        String.valueOf(assertInstanceOf(Outcome.Refused.class, refused).error().getMessage())
            .contains("parent_may_reclaim"));
    // A step naming another place than the request's is refused.
    assertEquals(
        ErrorCode.INVALID_ARGUMENT,
        refusal(m.apply(intent(open, "org@t/beta", "svc@elsewhere", svc, txn, byOwner), anchor)));
    assertEquals(
        ErrorCode.NOT_AUTHORIZED,
        refusal(m.apply(intent(open, "org@t/beta", "svc@t/beta", svc, txn, null), anchor)),
        "no request");
    assertInstanceOf(
        Outcome.Applied.class,
        m.apply(intent(open, "org@t/beta", "svc@t/beta", svc, txn, byOwner), anchor));
  }

  private Mutation intent(
      long scope,
      String from,
      String to,
      long parent,
      ByteString txn,
      @org.jspecify.annotations.Nullable SignedMutation request) {
    Mutation p =
        m.factory.movePrepare(
            scope, MoveRole.MOVE_ROLE_CHILD, Alias.parse(from), Alias.parse(to), txn, parent);
    Mutation.Builder b = p.toBuilder().setMove(p.getMove().toBuilder().setChildDepth(2));
    if (request != null) {
      b.setAuthorization(request);
    }
    return b.build();
  }
}
