package org.anf.sim.runner;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.anf.sim.check.Verdict;
import org.anf.sim.faults.FaultPlan;
import org.anf.sim.faults.Mutant;
import org.anf.sim.workload.Workload;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code anf sim}: one seeded partition-simulation run of a whole fabric, judged and reported. */
@Command(
    name = "sim",
    mixinStandardHelpOptions = true,
    description = {
      "Run a whole fabric in this JVM (real Ratis, gRPC on loopback, RocksDB in a temp dir) under"
          + " seeded faults (partitions, delays, crashes) and a seeded workload, then check the"
          + " recorded history and write a report (summary.json, report.html).",
      "Exit status: 0 every check held, 1 a check failed (the seed and the command that reruns"
          + " it are printed), 2 usage error."
    })
public final class SimCommand implements Callable<Integer> {
  static final String DEFAULT_MIX =
      "bind=20,rename=8,move=4,xmove=3,unbind=3,split=1,merge=1,resolve=65";

  /** Where the run's log and the summary go (the terminal; a test may capture it). */
  PrintStream out = System.out;

  @Spec @Nullable CommandSpec spec;

  @Option(
      names = "--seed",
      paramLabel = "N",
      description =
          "Seed for the fault plan, the schedule and the workload (default: random, printed).")
  @Nullable Long seed;

  @Option(
      names = "--duration",
      paramLabel = "D",
      description = "How long the workload runs: 60s, 2m, 1500ms (default: ${DEFAULT-VALUE}).",
      defaultValue = "60s")
  String duration = "60s";

  @Option(
      names = "--anchors",
      paramLabel = "N",
      description =
          "Anchor nodes, 3-9 (default: ${DEFAULT-VALUE}); with 5 or more each scope is governed by 3.",
      defaultValue = "3")
  int anchors = 3;

  @Option(
      names = "--scopes",
      paramLabel = "N",
      description =
          "Scopes under the root that the workload writes to (default: ${DEFAULT-VALUE}).",
      defaultValue = "2")
  int scopes = 2;

  @Option(
      names = "--clients",
      paramLabel = "N",
      description = "Simulated resolvers/writers (default: ${DEFAULT-VALUE}).",
      defaultValue = "3")
  int clients = 3;

  @Option(
      names = "--rate",
      paramLabel = "OPS",
      description = "Operations per second over all clients (default: ${DEFAULT-VALUE}).",
      defaultValue = "30")
  double rate = 30;

  @Option(
      names = "--mix",
      paramLabel = "K=W,...",
      description = "Operation mix by weight (default: ${DEFAULT-VALUE}).",
      defaultValue = DEFAULT_MIX)
  String mix = DEFAULT_MIX;

  @Option(
      names = "--faults",
      paramLabel = "LIST",
      description = "Fault kinds: partition,delay,crash, all or none (default: ${DEFAULT-VALUE}).",
      defaultValue = "all")
  String faults = "all";

  @Option(
      names = "--partitions",
      paramLabel = "LIST",
      description =
          "Partition modes the seed may draw: isolate-one, random-split, isolate-scope (5+"
              + " anchors), asymmetric, or all (default: ${DEFAULT-VALUE}).",
      defaultValue = "all")
  String partitions = "all";

  @Option(
      names = "--op-timeout",
      paramLabel = "D",
      description = "How long one operation may take with its retries (default: ${DEFAULT-VALUE}).",
      defaultValue = "6s")
  String opTimeout = "6s";

  @Option(
      names = "--mutant",
      paramLabel = "NAME",
      description =
          "Test the checkers with a deliberate bug planted in the anchors: ack-before-commit,"
              + " skip-redirect, unmark-stale (default: none).",
      defaultValue = "none")
  String mutant = "none";

  @Option(
      names = "--report",
      paramLabel = "DIR",
      description =
          "Where the report goes (default: sim-report/seed-N under the current directory).")
  @Nullable Path report;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "Keep the fabric's data here (default: a temp dir, deleted after).")
  @Nullable Path data;

  @Option(names = "--quiet", description = "No progress bar.")
  boolean quiet;

  /** The options these flags ask for; IllegalArgumentException names a bad one. */
  SimOptions options() {
    long s = seed != null ? seed : new java.security.SecureRandom().nextInt(1_000_000);
    Workload w =
        new Workload(clients, rate, Workload.parseMix(mix), SimOptions.parseDuration(opTimeout));
    Path dir = report != null ? report : Path.of("sim-report", "seed-" + s);
    return new SimOptions(
        s,
        SimOptions.parseDuration(duration),
        anchors,
        scopes,
        w,
        FaultPlan.parseKinds(faults),
        FaultPlan.parseModes(partitions),
        Mutant.parse(mutant),
        dir,
        data,
        !quiet);
  }

  @Override
  public Integer call() throws Exception {
    CommandSpec sp = spec;
    PrintWriter err =
        sp != null
            ? sp.commandLine().getErr()
            : new PrintWriter(
                new java.io.OutputStreamWriter(System.err, java.nio.charset.StandardCharsets.UTF_8),
                true);
    SimOptions o;
    try {
      o = options();
    } catch (IllegalArgumentException e) {
      err.println("anf sim: " + e.getMessage());
      return 2;
    }
    SimResult r = SimRun.run(o, out);
    print(r, out);
    return r.ok() ? 0 : 1;
  }

  /** The end-of-run summary: verdicts, then where the report is and how to rerun. */
  static void print(SimResult r, PrintStream out) {
    out.println();
    for (Verdict v : r.verdicts()) {
      out.printf("  %s  %-20s %s%n", v.ok() ? "PASS" : "FAIL", v.name(), v.summary());
      int shown = 0;
      for (String p : v.problems()) {
        if (shown++ == 5) {
          out.printf("        ... and %d more%n", v.problems().size() - 5);
          break;
        }
        out.println("        " + p);
      }
    }
    out.printf(
        "%n%s: seed %d, %d operations, %d fault periods, %.1f s wall time%n",
        r.ok() ? "PASS" : "FAIL",
        r.options().seed(),
        r.ops().size(),
        r.faults().size(),
        r.elapsedMs() / 1000.0);
    if (r.html() != null) {
      out.println("report: " + r.html().toAbsolutePath() + " (and summary.json, history.jsonl)");
    }
    if (!r.ok()) {
      out.println("a check failed with seed " + r.options().seed() + "; rerun it with:");
      out.println("  " + r.options().command());
    }
    out.flush();
  }
}
