package org.anf.sim.runner;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The printed rerun command parses back into the very options of the run. */
class SimOptionsTest {
  /** What a rerun must reproduce: everything but where the report and data go, and the bar. */
  private static SimOptions shape(SimOptions o) {
    return new SimOptions(
        o.seed(),
        o.durationMs(),
        o.anchors(),
        o.scopes(),
        o.workload(),
        o.faults(),
        o.partitions(),
        o.mutant(),
        null,
        null,
        false);
  }

  private static SimOptions parse(String... args) {
    SimCommand c = new SimCommand();
    new CommandLine(c).parseArgs(args);
    return c.options();
  }

  private static SimOptions reparse(String command) {
    assertThat(command).startsWith("bin/anf sim ");
    List<String> args = new ArrayList<>(List.of(command.split(" ")));
    args.subList(0, 2).clear();
    return parse(args.toArray(String[]::new));
  }

  @Test
  void everyOptionSurvivesTheRerunCommand() {
    SimOptions o =
        parse(
            "--seed",
            "17",
            "--duration",
            "7500ms",
            "--anchors",
            "5",
            "--scopes",
            "3",
            "--clients",
            "4",
            "--rate",
            "12.5",
            "--mix",
            "bind=5,xmove=2,split=1,merge=1,resolve=9",
            "--op-timeout",
            "2500ms",
            "--faults",
            "partition,crash",
            "--partitions",
            "isolate-scope,asymmetric",
            "--mutant",
            "skip-redirect",
            "--report",
            "/tmp/elsewhere",
            "--quiet");
    String cmd = o.command();
    assertThat(cmd)
        .isEqualTo(
            "bin/anf sim --seed 17 --duration 7500ms --anchors 5 --scopes 3 --clients 4 --rate"
                + " 12.5 --mix bind=5,xmove=2,split=1,merge=1,resolve=9 --op-timeout 2500ms"
                + " --faults partition,crash --partitions isolate-scope,asymmetric"
                + " --mutant skip-redirect");
    assertThat(shape(reparse(cmd))).isEqualTo(shape(o));
  }

  @Test
  void theDefaultsSurviveTheRerunCommandToo() {
    SimOptions o = SimOptions.defaults(3, 15_000);
    assertThat(o.command()).contains("--op-timeout 6s").contains("--partitions all");
    assertThat(shape(reparse(o.command()))).isEqualTo(shape(o));
    SimOptions cli = parse("--seed", "3", "--duration", "15s");
    assertThat(shape(cli)).isEqualTo(shape(o));
    assertThat(cli.reportDir()).isEqualTo(Path.of("sim-report", "seed-3"));
  }

  @Test
  void isolatingAScopeAloneNeedsFiveAnchors() {
    assertThatThrownBy(() -> parse("--seed", "1", "--partitions", "isolate-scope"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("--partitions isolate-scope needs --anchors 5 or more");
    assertThatThrownBy(() -> parse("--seed", "1", "--partitions", "sideways"))
        .hasMessageContaining("unknown partition mode 'sideways'");
  }
}
