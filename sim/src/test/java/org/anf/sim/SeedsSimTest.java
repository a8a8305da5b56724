package org.anf.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.anf.sim.check.Verdict;
import org.anf.sim.runner.SimOptions;
import org.anf.sim.runner.SimResult;
import org.anf.sim.runner.SimRun;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Whole-fabric runs on fixed seeds with every fault kind: each must pass every check. The default
 * run plays three short seeds; {@code -Pslow} sweeps fifty more. A failure names the seed and the
 * command that reruns it.
 */
class SeedsSimTest {
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void shortRun(long seed, @TempDir Path reports) throws Exception {
    run(seed, 15_000, reports);
  }

  static LongStream sweep() {
    return LongStream.rangeClosed(100, 149);
  }

  @Tag("slow")
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("sweep")
  void sweepRun(long seed, @TempDir Path reports) throws Exception {
    run(seed, 20_000, reports);
  }

  private static void run(long seed, long durationMs, Path reports) throws Exception {
    SimOptions o = SimOptions.defaults(seed, durationMs).withReportDir(reports.resolve("s" + seed));
    SimResult r = SimRun.run(o, System.out);
    String failures =
        r.verdicts().stream()
            .filter(v -> !v.ok())
            .map(v -> v.name() + ": " + String.join("; ", v.problems()))
            .collect(Collectors.joining("\n"));
    assertThat(r.ok())
        .as("seed %d failed; rerun with: %s%n%s", seed, o.command(), failures)
        .isTrue();
    assertThat(r.verdicts()).extracting(Verdict::name).hasSize(6);
    assertThat(r.ops()).isNotEmpty();
    assertThat(r.faults()).isNotEmpty();
    assertThat(r.unidentifiedCalls()).isZero();
    assertThat(Files.readString(java.util.Objects.requireNonNull(r.html())))
        .contains("<svg")
        .doesNotContain("<script");
  }
}
