package org.anf.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.anf.sim.check.Verdict;
import org.anf.sim.faults.FaultPlan;
import org.anf.sim.history.History;
import org.anf.sim.runner.SimOptions;
import org.anf.sim.runner.SimResult;
import org.anf.sim.runner.SimRun;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole-fabric runs on fixed seeds with every fault kind: each must pass every check. The default
 * run plays three short seeds on three anchors and one on five anchors that cuts whole scopes off;
 * {@code -Pslow} sweeps fifty more on three anchors and five on five. A failure names the seed and
 * the command that reruns it.
 */
class SeedsSimTest {
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void shortRun(long seed) throws Exception {
    run(SimOptions.defaults(seed, 15_000));
  }

  /** Five anchors, each scope on three of them: only there can a whole scope be cut off. */
  @Test
  void isolatingWholeScopesOnFiveAnchors() throws Exception {
    SimOptions o =
        SimOptions.defaults(7, 10_000)
            .withLayout(5, 2)
            .withFaults(Set.of(FaultPlan.Kind.PARTITION))
            .withPartitions(Set.of(FaultPlan.PartitionMode.ISOLATE_SCOPE));
    SimResult r = run(o);
    assertThat(r.faults())
        .extracting(History.FaultSpan::description)
        .allMatch(d -> d.startsWith("isolate scope s"));
  }

  static LongStream sweep() {
    return LongStream.rangeClosed(100, 149);
  }

  @Tag("slow")
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("sweep")
  void sweepRun(long seed) throws Exception {
    run(SimOptions.defaults(seed, 20_000));
  }

  @Tag("slow")
  @ParameterizedTest(name = "seed {0}, five anchors")
  @ValueSource(longs = {150, 151, 152, 153, 154})
  void sweepRunOnFiveAnchors(long seed) throws Exception {
    run(SimOptions.defaults(seed, 20_000).withLayout(5, 3));
  }

  /** Reports stay in target/sim-reports, so that a failing run's history can be read afterwards. */
  private static SimResult run(SimOptions given) throws Exception {
    Path dir = Path.of("target", "sim-reports", "seed-" + given.seed() + "-" + given.anchors());
    SimOptions o = given.withReportDir(dir);
    SimResult r = SimRun.run(o, System.out);
    String failures =
        r.verdicts().stream()
            .filter(v -> !v.ok())
            .map(v -> v.name() + ": " + String.join("; ", v.problems()))
            .collect(Collectors.joining("\n"));
    assertThat(r.ok())
        .as(
            "seed %d failed (history in %s); rerun with: %s%n%s",
            o.seed(), dir.toAbsolutePath(), o.command(), failures)
        .isTrue();
    assertThat(r.verdicts()).extracting(Verdict::name).hasSize(6);
    assertThat(r.ops()).isNotEmpty();
    assertThat(r.faults()).isNotEmpty();
    assertThat(r.unidentifiedCalls()).isZero();
    assertThat(Files.readString(java.util.Objects.requireNonNull(r.html())))
        .contains("<svg")
        .doesNotContain("<script");
    return r;
  }
}
