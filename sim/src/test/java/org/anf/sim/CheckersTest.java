package org.anf.sim;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.testing.FabricModel;
import org.anf.proto.v1.Effect;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SignedMutation;
import org.anf.sim.check.Checks;
import org.anf.sim.check.FinalState;
import org.anf.sim.check.Verdict;
import org.anf.sim.history.Op;
import org.anf.sim.runner.SimFabric;
import org.anf.sim.workload.SimClient;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

/** The checkers on hand-written histories: they pass what is right and name what is wrong. */
class CheckersTest {
  private long ids;

  private Op write(
      Op.Kind k,
      String alias,
      @Nullable String to,
      long inv,
      long done,
      Op.Outcome o,
      @Nullable String uid) {
    return new Op(
        ++ids, "c1", k, "f1", alias, to, "s0", "", 0, inv, done, o, uid, null, false, 0, "", 0,
        "a1", null, "");
  }

  private Op read(
      String alias,
      long inv,
      long done,
      String status,
      @Nullable String uid,
      boolean stale,
      long boundMs) {
    return new Op(
        ++ids,
        "c2",
        Op.Kind.RESOLVE,
        "f1",
        alias,
        null,
        "s0",
        "",
        0,
        inv,
        done,
        Op.Outcome.OK,
        uid,
        status,
        stale,
        0,
        "ANY",
        boundMs,
        "a2",
        null,
        "");
  }

  private static SimClient.Answer answer(String status, @Nullable String uid) {
    return new SimClient.Answer(Op.Outcome.OK, status, uid, false, 0, "a1", "");
  }

  private static FinalState fin(Map<String, SimClient.Answer> answers) {
    return new FinalState(true, List.of(), Map.of(), Map.of(), answers, 0, 100);
  }

  private static Verdict verdict(List<Verdict> vs, String name) {
    return vs.stream().filter(v -> v.name().equals(name)).findFirst().orElseThrow();
  }

  @Test
  void aRenameThatIsRespectedPassesEveryHistoryCheck() {
    List<Op> ops = new ArrayList<>();
    ops.add(write(Op.Kind.BIND, "s0@a", null, 1_000_000, 1_100_000, Op.Outcome.OK, "uid:1"));
    ops.add(write(Op.Kind.RENAME, "s0@a", "s0@b", 2_000_000, 2_100_000, Op.Outcome.OK, "uid:1"));
    ops.add(read("s0@a", 9_000_000, 9_010_000, "REDIRECTED", "uid:1", false, 0));
    // Stale answers may show any earlier state.
    ops.add(read("s0@b", 9_000_000, 9_010_000, "NOT_FOUND", null, true, 2000));
    List<Verdict> vs =
        Checks.all(
            ops,
            fin(Map.of("s0@a", answer("REDIRECTED", "uid:1"), "s0@b", answer("EXACT", "uid:1"))));
    assertThat(verdict(vs, "fresh-or-stale").ok())
        .as(verdict(vs, "fresh-or-stale").problems().toString())
        .isTrue();
    assertThat(verdict(vs, "alias-continuity").ok()).isTrue();
  }

  @Test
  void anOutdatedAnswerNotMarkedStaleIsNamed() {
    List<Op> ops = new ArrayList<>();
    ops.add(write(Op.Kind.BIND, "s0@a", null, 1_000_000, 1_100_000, Op.Outcome.OK, "uid:1"));
    ops.add(write(Op.Kind.RENAME, "s0@a", "s0@b", 2_000_000, 2_100_000, Op.Outcome.OK, "uid:1"));
    ops.add(read("s0@b", 9_000_000, 9_010_000, "NOT_FOUND", null, false, 2000));
    Verdict v = verdict(Checks.all(ops, fin(Map.of())), "fresh-or-stale");
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("op #3 resolve s0@b")
        .contains("NOT marked stale")
        .contains("EXACT uid:1")
        .contains("op #2 rename s0@a -> s0@b");
  }

  @Test
  void anAcknowledgedBindMissingAfterHealingIsLost() {
    List<Op> ops =
        List.of(write(Op.Kind.BIND, "s0@x", null, 1_000_000, 1_000_100, Op.Outcome.OK, null));
    Verdict v =
        verdict(
            Checks.all(ops, fin(Map.of("s0@x", answer("NOT_FOUND", null)))), "acknowledged-writes");
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("acknowledged op #1 bind s0@x")
        .contains("is lost")
        .contains("now answers NOT_FOUND");
  }

  @Test
  void anIndeterminateWriteMayOrMayNotHaveHappened() {
    List<Op> ops =
        List.of(
            write(
                Op.Kind.BIND, "s0@x", null, 1_000_000, 7_000_000, Op.Outcome.INDETERMINATE, null));
    assertThat(
            Checks.all(ops, fin(Map.of("s0@x", answer("NOT_FOUND", null)))).stream()
                .allMatch(Verdict::ok))
        .isTrue();
    assertThat(
            Checks.all(ops, fin(Map.of("s0@x", answer("EXACT", "uid:9")))).stream()
                .allMatch(Verdict::ok))
        .isTrue();
  }

  @Test
  void aBrokenRedirectBreaksContinuity() {
    List<Op> ops = new ArrayList<>();
    ops.add(write(Op.Kind.BIND, "s0@a", null, 1_000_000, 1_100_000, Op.Outcome.OK, "uid:1"));
    ops.add(write(Op.Kind.MOVE, "s0@a", "s0@mv/a", 2_000_000, 2_100_000, Op.Outcome.OK, "uid:1"));
    Verdict v =
        verdict(
            Checks.all(
                ops,
                fin(
                    Map.of(
                        "s0@a", answer("NOT_FOUND", null), "s0@mv/a", answer("EXACT", "uid:1")))),
            "alias-continuity");
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("alias s0@a")
        .contains("expected REDIRECTED uid:1");
  }

  private static FinalState fin(
      boolean converged,
      List<String> unsettled,
      Map<String, List<SimFabric.Replica>> replicas,
      Map<String, Map<String, List<LineageEntry>>> lineage,
      double settledFromS) {
    return new FinalState(converged, unsettled, replicas, lineage, Map.of(), settledFromS, 100);
  }

  @Test
  void replicasThatDifferAfterHealingFailConvergenceNamingEach() {
    Map<String, List<SimFabric.Replica>> replicas =
        Map.of(
            "s0@g1",
            List.of(
                new SimFabric.Replica("a1", 7, "aaaaaaaaaaaaaaaa", "dddddddddddddddd"),
                new SimFabric.Replica("a2", 7, "aaaaaaaaaaaaaaaa", "dddddddddddddddd"),
                new SimFabric.Replica("a3", 5, "bbbbbbbbbbbbbbbb", "eeeeeeeeeeeeeeee")));
    Verdict v = Checks.convergence(fin(true, List.of(), replicas, Map.of(), 0));
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("scope s0@g1 did not converge")
        .contains("a1 at seq 7 head aaaaaaaaaaaa digest dddddddddddd")
        .contains("a3 at seq 5 head bbbbbbbbbbbb digest eeeeeeeeeeee");
  }

  @Test
  void aTransactionLeftOpenAfterHealingFailsConvergence() {
    String open = "transaction 0ba3c885b66c (move) is still open in scope 7a2b97814ab2c070 on a2";
    Verdict v = Checks.convergence(fin(true, List.of(open), Map.of(), Map.of(), 0));
    assertThat(v.ok()).isFalse();
    assertThat(v.problems()).containsExactly("after healing, " + open);
  }

  @Test
  void aFabricThatNeverSettledFailsConvergence() {
    Verdict v = Checks.convergence(fin(false, List.of(), Map.of(), Map.of(), 0));
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .containsExactly("the fabric did not settle (a group without a leader) within the timeout");
  }

  /** A real root lineage: genesis and three binds, from the lineage core's in-memory fabric. */
  private static FabricModel chainOfFour() {
    FabricModel m = new FabricModel(42);
    for (int i = 0; i < 3; i++) {
      m.apply(
          m.factory.bind(
              m.root,
              Alias.parse("svc@n" + i),
              ObjectRecord.newBuilder()
                  .addEndpoints(Endpoint.newBuilder().setHost("10.0.0." + i).setPort(443))
                  .build()));
    }
    return m;
  }

  private static String digest(FabricModel m) {
    return HexFormat.of().formatHex(StateDigest.of(m.fabric.state(m.root).kv()));
  }

  @Test
  void aLineageThatVerifiesAndReplaysPasses() {
    FabricModel m = chainOfFour();
    List<LineageEntry> chain = m.fabric.lineage(m.root);
    Verdict v =
        Checks.lineage(
            fin(
                true,
                List.of(),
                Map.of("(root)", List.of(new SimFabric.Replica("a1", 4, "", digest(m)))),
                Map.of("(root)", Map.of("a1", chain)),
                0));
    assertThat(v.ok()).as(v.problems().toString()).isTrue();
    assertThat(v.summary()).contains("4 lineage entries verified");
  }

  @Test
  void aLineageWithAnEntryMissingFailsNamingTheReplica() {
    FabricModel m = chainOfFour();
    List<LineageEntry> chain = new ArrayList<>(m.fabric.lineage(m.root));
    chain.remove(2);
    Verdict v =
        Checks.lineage(fin(true, List.of(), Map.of(), Map.of("(root)", Map.of("a2", chain)), 0));
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .startsWith("scope (root) on a2: lineage fails:");
  }

  @Test
  void aLineageThatReplaysToAnotherStateFails() {
    FabricModel m = chainOfFour();
    List<LineageEntry> chain = m.fabric.lineage(m.root);
    String held = "0123456789abcdef0123";
    Verdict v =
        Checks.lineage(
            fin(
                true,
                List.of(),
                Map.of("(root)", List.of(new SimFabric.Replica("a3", 4, "", held))),
                Map.of("(root)", Map.of("a3", chain)),
                0));
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains(
            "scope (root) on a3: replaying the lineage gives digest " + digest(m).substring(0, 12))
        .contains("but the replica holds 0123456789ab");
  }

  private Op resolveAt(double invokedS, Op.Outcome outcome) {
    long inv = (long) (invokedS * 1e6);
    return new Op(
        ++ids,
        "c3",
        Op.Kind.RESOLVE,
        "f1",
        "s0@a",
        null,
        "s0",
        "",
        0,
        inv,
        inv + 2_000_000,
        outcome,
        null,
        outcome == Op.Outcome.OK ? "NOT_FOUND" : null,
        false,
        0,
        "ANY",
        2000,
        "a1",
        null,
        "");
  }

  @Test
  void resolutionThatDoesNotComeBackAfterHealingFailsAvailability() {
    List<Op> ops = new ArrayList<>();
    // During the fault (before 10 s) failures are expected; they count only in the overall figure.
    ops.add(resolveAt(4, Op.Outcome.INDETERMINATE));
    ops.add(resolveAt(11, Op.Outcome.OK));
    ops.add(resolveAt(12, Op.Outcome.INDETERMINATE));
    ops.add(resolveAt(13, Op.Outcome.INDETERMINATE));
    ops.add(resolveAt(14, Op.Outcome.INDETERMINATE));
    Verdict v = Checks.availability(ops, fin(true, List.of(), Map.of(), Map.of(), 10));
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("only 1 of 4 resolves (25.0%) succeeded after 10.0 s")
        .contains("at least 90% were expected");
    assertThat(v.summary()).contains("20.0% of 5 resolves answered over the run");
  }

  @Test
  void resolutionThatComesBackAfterHealingPassesAvailability() {
    List<Op> ops = new ArrayList<>();
    ops.add(resolveAt(4, Op.Outcome.INDETERMINATE));
    for (int i = 0; i < 10; i++) {
      ops.add(resolveAt(11 + i * 0.1, Op.Outcome.OK));
    }
    Verdict v = Checks.availability(ops, fin(true, List.of(), Map.of(), Map.of(), 10));
    assertThat(v.ok()).as(v.problems().toString()).isTrue();
  }

  @Test
  void aRefusedRenameWhoseNameShowsUpAnywayIsNamed() {
    List<Op> ops = new ArrayList<>();
    ops.add(write(Op.Kind.BIND, "s0@a", null, 1_000_000, 1_100_000, Op.Outcome.OK, "uid:1"));
    ops.add(write(Op.Kind.RENAME, "s0@a", "s0@b", 2_000_000, 2_100_000, Op.Outcome.REFUSED, null));
    Verdict v =
        verdict(
            Checks.all(
                ops,
                fin(Map.of("s0@a", answer("EXACT", "uid:1"), "s0@b", answer("EXACT", "uid:1")))),
            "acknowledged-writes");
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("refused op #2 rename s0@a -> s0@b")
        .contains("took effect: s0@b answers EXACT uid:1 after healing, expected NOT_FOUND");
  }

  @Test
  void aTransactionReportedAbortedWhoseCommitIsInTheLineageIsNamed() {
    String txn = "00112233445566778899aabbccddeeff";
    Op move =
        new Op(
            ++ids,
            "c1",
            Op.Kind.XMOVE,
            "f1",
            "s1@a",
            "s0@a",
            "s1",
            "",
            0,
            1_000_000,
            6_000_000,
            Op.Outcome.REFUSED,
            null,
            null,
            false,
            0,
            "",
            0,
            "a2",
            txn,
            "aborted, txn 001122334455: no open move transaction");
    Mutation request = Mutation.newBuilder().setMutationId(ByteString.fromHex(txn)).build();
    Mutation step =
        Mutation.newBuilder()
            .setMutationId(ByteString.fromHex("ffeeddccbbaa99887766554433221100"))
            .setAuthorization(SignedMutation.newBuilder().setMutation(request.toByteString()))
            .build();
    LineageEntry e =
        LineageEntry.newBuilder()
            .setSeq(5)
            .setMutation(SignedMutation.newBuilder().setMutation(step.toByteString()))
            .setEffect(
                Effect.newBuilder()
                    .addItems(EffectItem.newBuilder().setKind(EffectKind.EFFECT_KIND_MOVED_IN)))
            .build();
    FinalState f =
        new FinalState(
            true, List.of(), Map.of(), Map.of("s0", Map.of("a1", List.of(e))), Map.of(), 0, 100);
    Verdict v = verdict(Checks.all(List.of(move), f), "acknowledged-writes");
    assertThat(v.ok()).isFalse();
    assertThat(v.problems())
        .singleElement()
        .asString()
        .contains("refused op #1 xmove s1@a -> s0@a")
        .contains("the client was told \"aborted, txn 001122334455: no open move transaction\"")
        .contains("records its commit (MOVED_IN)");
  }
}
