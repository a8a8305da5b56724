package org.anf.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.anf.sim.check.Checks;
import org.anf.sim.check.FinalState;
import org.anf.sim.check.Verdict;
import org.anf.sim.history.Op;
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
        ++ids, "c1", k, "f1", alias, to, 0, inv, done, o, uid, null, false, 0, "", 0, "a1", null,
        "");
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
    return new FinalState(true, Map.of(), Map.of(), answers, 0, 100);
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
}
