package org.anf.lineage.transition;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.lookup.ScopeLookup;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each mutation kind end to end over in-memory scopes, and what lookups then answer. */
class ScenarioTest {
  FabricModel m;
  long svc;
  long user;

  @BeforeEach
  void setUp() {
    m = new FabricModel(42);
    svc = m.createChild(m.root, Alias.parse("svc"));
    user = m.createChild(m.root, Alias.parse("user"));
  }

  static ObjectRecord rec(String host, int port) {
    return ObjectRecord.newBuilder()
        .addEndpoints(Endpoint.newBuilder().setHost(host).setPort(port))
        .build();
  }

  Outcome.Applied ok(Mutation mutation) {
    Outcome o = m.apply(mutation);
    if (o instanceof Outcome.Refused r) {
      throw new AssertionError("refused: " + r.error().getMessage(), r.error());
    }
    return (Outcome.Applied) o;
  }

  Uid bind(long scope, String alias) {
    return java.util.Objects.requireNonNull(
        ok(m.factory.bind(scope, Alias.parse(alias), rec("10.0.0.1", 80))).uid());
  }

  LookupResult resolve(String alias) {
    return m.fabric.resolve(Alias.parse(alias));
  }

  @Test
  void bindResolvesExactWithTheRecord() {
    Uid uid = bind(svc, "svc@demo/hello");
    LookupResult r = resolve("svc@demo/hello");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
    assertThat(Uid.fromProto(r.getUid())).isEqualTo(uid);
    assertThat(uid.scopeId()).isEqualTo(svc);
    assertThat(r.getRecord().getEndpoints(0).getPort()).isEqualTo(80);
    assertThat(r.getTtlSeconds()).isEqualTo(Policies.DEFAULT_CACHE_TTL_SECONDS);
  }

  @Test
  void aliasesAreCaseInsensitiveAndSeparatorBlind() {
    Uid uid = bind(svc, "svc@demo.eu/hello");
    assertThat(Uid.fromProto(resolve("SVC@demo/EU/hello").getUid())).isEqualTo(uid);
  }

  @Test
  void renameLeavesTheOldAliasRedirectedToTheSameUid() {
    Uid uid = bind(svc, "svc@a");
    ok(m.factory.rename(svc, Alias.parse("svc@a"), Alias.parse("svc@b")));
    ok(m.factory.rename(svc, Alias.parse("svc@b"), Alias.parse("svc@c")));
    LookupResult r = resolve("svc@a");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
    assertThat(Uid.fromProto(r.getUid())).isEqualTo(uid);
    assertThat(r.getCanonicalAlias().getText()).isEqualTo("svc@c");
    // A chain of renames is one hop: the old alias points at the UID, not at the next alias.
    assertThat(r.getRedirectChainList()).extracting(a -> a.getText()).containsExactly("svc@a");
  }

  @Test
  void aliasesAreNeverReissued() {
    bind(svc, "svc@a");
    ok(m.factory.rename(svc, Alias.parse("svc@a"), Alias.parse("svc@b")));
    Outcome o = m.apply(m.factory.bind(svc, Alias.parse("svc@a"), rec("10.0.0.2", 1)));
    assertThat(((Outcome.Refused) o).error().getMessage()).contains("never reissued");
  }

  @Test
  void unbindRetiresForGood() {
    Uid uid = bind(svc, "svc@gone");
    ok(m.factory.unbind(svc, Alias.parse("svc@gone")));
    LookupResult r = resolve("svc@gone");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
    assertThat(r.getRetired()).isTrue();
    assertThat(Uid.fromProto(r.getUid())).isEqualTo(uid);
    Uid next = bind(svc, "svc@new");
    assertThat(next.counter()).isGreaterThan(uid.counter());
  }

  @Test
  void rotationLinksOldUidToNew() {
    Uid old = bind(svc, "svc@key");
    Outcome.Applied a = ok(m.factory.rotateUid(svc, Alias.parse("svc@key")));
    Uid next = java.util.Objects.requireNonNull(a.uid());
    assertThat(next).isNotEqualTo(old);
    assertThat(a.entry().getEffect().getItems(0).getKind())
        .isEqualTo(EffectKind.EFFECT_KIND_UID_ROTATED);
    assertThat(Uid.fromProto(resolve("svc@key").getUid())).isEqualTo(next);
    LookupResult byOld = m.fabric.resolve(old);
    assertThat(byOld.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
    assertThat(Uid.fromProto(byOld.getUid())).isEqualTo(next);
    assertThat(byOld.getSuccessorsList()).hasSize(1);
  }

  @Test
  void partialMatchSaysWhatResolvedAndWhatRemains() {
    Uid uid = bind(svc, "svc@docs/report");
    LookupResult r = resolve("svc@docs/report/chapter/2");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_PARTIAL);
    assertThat(Uid.fromProto(r.getUid())).isEqualTo(uid);
    assertThat(r.getResolved().getText()).isEqualTo("svc@docs/report");
    assertThat(r.getRemainingList()).containsExactly("chapter", "2");
  }

  @Test
  void delegationHandsTheRestToTheChild() {
    long demo = m.createChild(svc, Alias.parse("svc@demo"));
    Uid uid = bind(demo, "svc@demo/hello");
    LookupResult atSvc =
        ScopeLookup.lookup(m.fabric.state(svc), Alias.parse("svc@demo/hello"), 1).build();
    assertThat(atSvc.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_DELEGATED);
    assertThat(atSvc.getDelegation().getChildScopeId()).isEqualTo(demo);
    assertThat(atSvc.getRemainingList()).containsExactly("hello");
    assertThat(Uid.fromProto(resolve("svc@demo/hello").getUid())).isEqualTo(uid);
    Outcome o = m.apply(m.factory.bind(svc, Alias.parse("svc@demo/other"), rec("1.1.1.1", 1)));
    assertThat(((Outcome.Refused) o).error().getMessage()).contains("governed by child scope");
  }

  @Test
  void notFoundSaysHowFarItGot() {
    LookupResult r = resolve("svc@nothing/here");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
    assertThat(r.getRetired()).isFalse();
    assertThat(r.getResolved().getText()).isEqualTo("svc");
    assertThat(r.getTtlSeconds()).isEqualTo(Policies.DEFAULT_NEGATIVE_TTL_SECONDS);
  }

  @Test
  void localMoveOfASubtreeRedirectsEveryOldName() {
    Uid a = bind(svc, "svc@team/a");
    Uid b = bind(svc, "svc@team/b");
    ok(m.factory.rename(svc, Alias.parse("svc@team/b"), Alias.parse("svc@team/b2")));
    ok(m.factory.moveLocal(svc, Alias.parse("svc@team"), Alias.parse("svc@org/team")));
    assertThat(Uid.fromProto(resolve("svc@team/a").getUid())).isEqualTo(a);
    assertThat(resolve("svc@team/a").getCanonicalAlias().getText()).isEqualTo("svc@org/team/a");
    // The old name is answered through the move, so REDIRECTED; the new one is EXACT.
    assertThat(resolve("svc@team/a").getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REDIRECTED);
    assertThat(resolve("svc@org/team/a").getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
    assertThat(Uid.fromProto(resolve("svc@team/b").getUid())).isEqualTo(b);
    assertThat(Uid.fromProto(resolve("svc@org/team/b2").getUid())).isEqualTo(b);
  }

  @Test
  void moveAcrossScopesKeepsUidsAndRedirects() {
    Uid a = bind(svc, "svc@team/a");
    m.coordinator().move(svc, Alias.parse("svc@team"), user, Alias.parse("user@team"));
    LookupResult r = resolve("svc@team/a");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
    assertThat(Uid.fromProto(r.getUid())).isEqualTo(a);
    assertThat(r.getCanonicalAlias().getText()).isEqualTo("user@team/a");
    assertThat(r.getRedirectChainList()).extracting(x -> x.getText()).contains("svc@team/a");
    // The origin scope still knows where its UID went.
    assertThat(Uid.fromProto(m.fabric.resolve(a).getUid())).isEqualTo(a);
  }

  @Test
  void moveIntoItselfIsRefused() {
    bind(svc, "svc@team/a");
    long inner = m.createChild(svc, Alias.parse("svc@team2"));
    Outcome o =
        m.apply(m.factory.moveLocal(svc, Alias.parse("svc@team"), Alias.parse("svc@team/sub")));
    assertThat(((Outcome.Refused) o).error().getMessage()).contains("overlap");
    ok(m.factory.moveLocal(svc, Alias.parse("svc@team"), Alias.parse("svc@other")));
    assertThat(inner).isNotZero();
  }

  /**
   * A subtree that holds a delegated child neither moves within its scope (the child records its
   * name, and a move within the parent would leave that record naming a redirect: found twice by
   * the fabric property, each time as names that looped) nor into that child or below it; across
   * scopes it moves, and the old names follow.
   */
  @Test
  void aSubtreeHoldingAChildScopeMovesOnlyAcrossScopes() {
    long kid = m.createChild(svc, Alias.parse("svc@team/kid"));
    long grandkid = m.createChild(kid, Alias.parse("svc@team/kid/g"));
    bind(svc, "svc@team/site");
    m.setOwner(kid, m.owner(svc));
    m.setOwner(grandkid, m.owner(svc));
    byte[] before = org.anf.lineage.state.StateDigest.of(m.fabric.state(svc).kv());
    Outcome local =
        m.apply(m.factory.moveLocal(svc, Alias.parse("svc@team"), Alias.parse("svc@crew")));
    assertThat(local).isInstanceOf(Outcome.Refused.class);
    assertThat(((Outcome.Refused) local).error().getMessage())
        .contains("'svc@team/kid' is delegated to scope");
    // Into the child itself, or into a grandchild.
    for (var into :
        List.of(
            java.util.Map.entry(kid, "svc@team/kid/x"),
            java.util.Map.entry(grandkid, "svc@team/kid/g/x"))) {
      AnfException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              AnfException.class,
              () ->
                  m.coordinator()
                      .move(
                          svc,
                          Alias.parse("svc@team"),
                          into.getKey(),
                          Alias.parse(into.getValue())));
      assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    }
    assertThat(org.anf.lineage.state.StateDigest.of(m.fabric.state(svc).kv())).isEqualTo(before);
    assertThat(resolve("svc@team/site").getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
    // Elsewhere it goes.
    m.coordinator().move(svc, Alias.parse("svc@team"), user, Alias.parse("user@crew"));
    assertThat(resolve("svc@team/site").getCanonicalAlias().getText()).isEqualTo("user@crew/site");
  }

  @Test
  void splitAndMergeKeepEveryAlias() {
    Uid a = bind(svc, "svc@shop/a");
    Uid b = bind(svc, "svc@shop/b");
    Uid apex = bind(svc, "svc@shop");
    Policy policy = m.fabric.meta(svc).getPolicy();
    List<Long> children =
        m.coordinator()
            .split(
                svc,
                List.of(
                    new StructureCoordinator.ChildSpec(
                        "shop", FabricModel.anchors("a1", "a2", "a3"), policy)));
    long shop = children.get(0);
    m.setOwner(shop, m.owner(svc));
    assertThat(
            java.util.Objects.requireNonNull(m.fabric.state(svc).delegation("shop"))
                .getChildScopeId())
        .isEqualTo(shop);
    assertThat(Uid.fromProto(resolve("svc@shop/a").getUid())).isEqualTo(a);
    assertThat(Uid.fromProto(resolve("svc@shop").getUid())).isEqualTo(apex);
    Uid c = bind(shop, "svc@shop/c");
    assertThat(c.scopeId()).isEqualTo(shop);

    m.coordinator().merge(svc, shop, Alias.parse("svc@shop"));
    assertThat(m.fabric.isDissolved(shop)).isTrue();
    for (var e :
        List.of(List.of("svc@shop/a", a), List.of("svc@shop/b", b), List.of("svc@shop/c", c))) {
      LookupResult r = resolve((String) e.get(0));
      assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
      assertThat(Uid.fromProto(r.getUid())).isEqualTo(e.get(1));
      assertThat(r.getScopeId()).isEqualTo(svc);
    }
    // The child's id stays in the parent's lineage.
    var last = m.fabric.lineage(svc);
    assertThat(last.get(last.size() - 1).getEffect().getItems(0).getDetail())
        .contains(org.anf.lineage.state.ScopeIds.text(shop));
    // A sealed child refuses writes.
    Outcome o = m.apply(m.factory.bind(shop, Alias.parse("svc@shop/z"), rec("1.1.1.1", 1)));
    assertThat(((Outcome.Refused) o).error().getMessage()).contains("merged into its parent");
  }

  @Test
  void lockedEntriesRefuseWritesButKeepResolving() {
    Uid a = bind(svc, "svc@team/a");
    ByteString txn = m.factory.randomBytes(16);
    ok(
        m.factory.movePrepare(
            svc,
            org.anf.proto.v1.MoveRole.MOVE_ROLE_SOURCE,
            Alias.parse("svc@team"),
            Alias.parse("user@team"),
            txn,
            user));
    Outcome o = m.apply(m.factory.unbind(svc, Alias.parse("svc@team/a")));
    assertThat(((Outcome.Refused) o).error().code()).isEqualTo(ErrorCode.LOCKED);
    assertThat(Uid.fromProto(resolve("svc@team/a").getUid())).isEqualTo(a);
    ok(m.factory.moveAbort(svc, txn));
    ok(m.factory.unbind(svc, Alias.parse("svc@team/a")));
  }

  @Test
  void devicesResolveByOpaqueHashAndRotate() {
    var device = TestKeys.key("thermostat");
    Uid uid =
        java.util.Objects.requireNonNull(
            ok(m.factory.registerDevice(
                    user,
                    Alias.parse("user@elizabeth/iot/thermostat"),
                    "3f9a0c",
                    device.publicKey(),
                    rec("192.168.1.20", 0)))
                .uid());
    LookupResult r = resolve("user@elizabeth/iot//3f9a0c");
    assertThat(r.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
    assertThat(Uid.fromProto(r.getUid())).isEqualTo(uid);
    // Devices under another path stay invisible.
    assertThat(resolve("user@elizabeth/cam//3f9a0c").getStatus())
        .isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
    // The device rotates its own hash, naming the one it replaces.
    assertThat(m.apply(m.factory.rotateDeviceHash(user, "3f9a0c", "77b1e2"), device))
        .isInstanceOf(Outcome.Applied.class);
    assertThat(resolve("user@elizabeth/iot//3f9a0c").getStatus())
        .isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
    assertThat(Uid.fromProto(resolve("user@elizabeth/iot//77b1e2").getUid())).isEqualTo(uid);
    // A stranger cannot rotate it; a revoked hash has no successor.
    Outcome stranger =
        m.apply(m.factory.rotateDeviceHash(user, "77b1e2", "aaaa"), TestKeys.key("stranger"));
    assertThat(((Outcome.Refused) stranger).error().code()).isEqualTo(ErrorCode.NOT_AUTHORIZED);
    ok(m.factory.revokeDevice(user, "77b1e2", "compromised"));
    LookupResult revoked = resolve("user@elizabeth/iot//77b1e2");
    assertThat(revoked.getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_REVOKED);
    assertThat(revoked.getDetail()).contains("compromised");
    assertThat(resolve("user@elizabeth/iot/thermostat").getStatus())
        .isEqualTo(LookupStatus.LOOKUP_STATUS_REVOKED);
    Outcome after = m.apply(m.factory.rotateDeviceHash(user, "77b1e2", "bbbb"), device);
    assertThat(((Outcome.Refused) after).error().getMessage()).contains("revoked");
  }

  @Test
  void elasticMembershipRecordsTheNewQuorum() {
    // FIG. 3A: four anchors, two removed by governance transitions, 3-of-4 becomes 2-of-2.
    ok(m.factory.addAnchor(svc, FabricModel.anchor("a4")));
    byte[] digestBefore = bindingsDigest(svc);
    ok(m.factory.removeAnchor(svc, "a2"));
    Outcome.Applied last = ok(m.factory.removeAnchor(svc, "a3"));
    assertThat(last.entry().getEffect().getItems(0).getDetail()).contains("quorum 2-of-2 (a1, a4)");
    assertThat(m.fabric.meta(svc).getAnchors().getAnchorsCount()).isEqualTo(2);
    assertThat(bindingsDigest(svc)).isEqualTo(digestBefore);
    Policy p = m.fabric.meta(svc).getPolicy().toBuilder().setMinAnchors(2).build();
    ok(m.factory.setPolicy(svc, p));
    Outcome o = m.apply(m.factory.removeAnchor(svc, "a1"));
    assertThat(((Outcome.Refused) o).error().getMessage()).contains("policy needs 2");
  }

  @Test
  void duplicateMutationIdGivesTheFirstEntry() {
    Mutation bind = m.factory.bind(svc, Alias.parse("svc@once"), rec("10.0.0.9", 9));
    Outcome.Applied first = (Outcome.Applied) m.apply(bind);
    Outcome again = m.apply(bind);
    assertThat(again).isInstanceOf(Outcome.Duplicate.class);
    assertThat(((Outcome.Duplicate) again).entry()).isEqualTo(first.entry());
  }

  @Test
  void expectedPolicyVersionIsChecked() {
    Mutation stale =
        m.factory.bind(svc, Alias.parse("svc@x"), rec("1.1.1.1", 1)).toBuilder()
            .setExpectedPolicyVersion(7)
            .build();
    Outcome o = m.apply(stale);
    assertThat(((Outcome.Refused) o).error().getMessage()).contains("expected policy version 7");
  }

  @Test
  void badRecordsAreRefusedWithTheField() {
    ObjectRecord bad =
        ObjectRecord.newBuilder()
            .addEndpoints(Endpoint.newBuilder().setHost("bad host").setPort(1))
            .build();
    Outcome o = m.apply(m.factory.bind(svc, Alias.parse("svc@x"), bad));
    AnfException e = ((Outcome.Refused) o).error();
    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    assertThat(e.field()).isEqualTo("record.endpoints");
  }

  private byte[] bindingsDigest(long scope) {
    var w = new org.anf.lineage.chain.CanonicalWriter("test\n");
    m.fabric
        .state(scope)
        .kv()
        .scan(
            new byte[] {'B'},
            new byte[] {'C'},
            (k, v) -> {
              w.bytes(k).bytes(v);
              return true;
            });
    return w.finish();
  }
}
