package org.anf.sim.runner;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code anf sim} in process, on a run whose check fails (anchors that do not follow redirects, and
 * a workload that renames): it exits non-zero and prints the seed and the exact command that reruns
 * it.
 */
class SimCommandSimTest {
  @Test
  void aFailingCheckExitsNonZeroAndPrintsTheSeedAndTheRerunCommand(@TempDir Path dir)
      throws Exception {
    String[] args = {
      "--seed", "5",
      "--duration", "5s",
      "--clients", "2",
      "--mix", "bind=10,rename=10,resolve=10",
      "--faults", "none",
      "--mutant", "skip-redirect",
      "--report", dir.toString(),
      "--quiet"
    };
    SimCommand cmd = new SimCommand();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    cmd.out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    StringWriter err = new StringWriter();
    int exit = new CommandLine(cmd).setErr(new PrintWriter(err, true)).execute(args);
    String out = bytes.toString(StandardCharsets.UTF_8);
    String rerun =
        "bin/anf sim --seed 5 --duration 5s --anchors 3 --scopes 2 --clients 2 --rate 30"
            + " --mix bind=10,rename=10,resolve=10 --op-timeout 6s --faults none"
            + " --partitions all --mutant skip-redirect";
    assertThat(exit).as(out + err).isEqualTo(1);
    assertThat(out)
        .contains("anf sim: seed 5,")
        .contains("MUTANT: skip-redirect")
        .containsPattern("FAIL  alias-continuity +\\d+ acknowledged aliases")
        .contains("FAIL: seed 5,")
        .contains("a check failed with seed 5; rerun it with:\n  " + rerun + "\n");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void aBadOptionIsOneLineAndExitStatusTwo() {
    SimCommand cmd = new SimCommand();
    StringWriter err = new StringWriter();
    int exit =
        new CommandLine(cmd)
            .setErr(new PrintWriter(err, true))
            .execute("--seed", "1", "--duration", "1s");
    assertThat(exit).isEqualTo(2);
    assertThat(err.toString()).isEqualTo("anf sim: --duration must be at least 5s\n");
  }
}
