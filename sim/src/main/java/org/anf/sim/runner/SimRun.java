package org.anf.sim.runner;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LineageEntry;
import org.anf.sim.check.Checks;
import org.anf.sim.check.FinalState;
import org.anf.sim.check.Verdict;
import org.anf.sim.faults.Fault;
import org.anf.sim.faults.FaultPlan;
import org.anf.sim.faults.FaultSchedule;
import org.anf.sim.faults.Mutant;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.anf.sim.report.Reports;
import org.anf.sim.workload.SimClient;
import org.anf.sim.workload.WorkloadDriver;

/**
 * One seeded simulation run: a fresh fabric, the fault plan and schedule and the workload drawn
 * from the seed, the faults applied on schedule while the workload runs, then healing, the final
 * read-back, the checkers and the report.
 */
public final class SimRun {
  /** How long the fabric gets to converge once every fault is healed. */
  static final Duration STABILIZE = Duration.ofSeconds(90);

  private SimRun() {}

  public static SimResult run(SimOptions o, PrintStream log) throws IOException {
    SplittableRandom seed = new SplittableRandom(o.seed());
    SplittableRandom planRandom = seed.split();
    SplittableRandom scheduleRandom = seed.split();
    FaultPlan plan =
        FaultPlan.fromSeed(
            planRandom, o.faults(), o.partitions(), o.anchors() >= 5, o.durationMs());
    Path given = o.dataDir();
    boolean temp = given == null;
    Path dir = given == null ? Files.createTempDirectory("anf-sim-") : given;
    log.printf(
        "anf sim: seed %d, %s, %d anchors, %d scopes, %s%n",
        o.seed(),
        SimOptions.durationText(o.durationMs()),
        o.anchors(),
        o.scopes(),
        o.workload().describe());
    log.printf("fault plan: %s%n", plan.describe());
    if (o.mutant() != Mutant.NONE) {
      log.printf("MUTANT: %s (%s)%n", o.mutant().flag(), o.mutant().description());
    }
    log.flush();
    long t0 = System.nanoTime();
    try (SimFabric fabric = SimFabric.start(dir, temp, o.anchors(), o.scopes(), o.mutant())) {
      List<String> clientIds = new ArrayList<>();
      List<SimClient> clients = new ArrayList<>();
      for (int i = 0; i < o.workload().clients(); i++) {
        String id = "c" + (i + 1);
        clientIds.add(id);
        clients.add(fabric.client(id, i, o.workload().opTimeoutMs()));
      }
      List<List<String>> scopeAnchors = new ArrayList<>();
      List<WorkloadDriver.Target> targets = new ArrayList<>();
      for (SimFabric.Scope s : fabric.scopes()) {
        scopeAnchors.add(s.anchors());
        targets.add(new WorkloadDriver.Target(s.name(), s.id(), s.anchors(), s.anchorMap()));
      }
      FaultSchedule schedule =
          FaultSchedule.generate(
              plan, scheduleRandom, o.durationMs(), fabric.anchors(), clientIds, scopeAnchors);
      log.printf(
          "schedule: %d fault periods, healed from %.1f s; fabric up in %.1f s (data in %s)%n",
          schedule.periods().size(),
          schedule.faultsEndMs() / 1000.0,
          (System.nanoTime() - t0) / 1e9,
          dir);
      log.flush();
      History history = new History(System.nanoTime());
      WorkloadDriver driver =
          new WorkloadDriver(
              o.workload(),
              o.seed(),
              targets,
              history,
              m -> Signing.sign(m, fabric.admin()),
              Policies.ownedBy(fabric.admin().publicKey()));
      Progress progress = new Progress(log, o.durationMs(), o.progress());
      driver.start(clients);
      try {
        for (FaultSchedule.Period p : schedule.periods()) {
          waitUntil(history, p.startMs(), progress, "");
          Fault f = p.fault();
          double start = history.nowUs() / 1e6;
          f.applyLinks(fabric.links());
          f.crashed().forEach(fabric::crash);
          waitUntil(history, p.endMs(), progress, f.description());
          fabric.links().healAll();
          f.crashed().forEach(fabric::restart);
          history.fault(
              new History.FaultSpan(
                  start,
                  history.nowUs() / 1e6,
                  f.kind().name().toLowerCase(java.util.Locale.ROOT),
                  f.description()));
        }
        waitUntil(history, o.durationMs(), progress, "");
      } finally {
        driver.stop();
        fabric.links().healAll();
        progress.done();
      }
      double workloadEnd = history.nowUs() / 1e6;
      log.printf(
          "workload stopped at %.1f s after %d operations; healing and waiting for convergence%n",
          workloadEnd, history.size());
      log.flush();
      boolean converged = fabric.stabilize(STABILIZE);
      double healed = schedule.faultsEndMs() / 1000.0;
      for (History.FaultSpan span : history.faults()) {
        healed = Math.max(healed, span.endS());
      }
      FinalState fin = finalState(fabric, history.ops(), converged, healed + 3, workloadEnd);
      List<Op> ops = history.ops();
      List<Verdict> verdicts = Checks.all(ops, fin);
      SimResult result =
          new SimResult(
              o,
              plan,
              schedule,
              ops,
              history.faults(),
              verdicts,
              fin,
              (System.nanoTime() - t0) / 1_000_000,
              fabric.links().counters().droppedCount(),
              fabric.links().counters().delayedCount(),
              fabric.links().counters().unidentifiedCount(),
              null,
              null);
      for (SimClient c : clients) {
        c.close();
      }
      if (o.reportDir() != null) {
        result = Reports.write(result, o.reportDir());
      }
      return result;
    }
  }

  private static void waitUntil(History h, long ms, Progress progress, String fault) {
    while (true) {
      long now = h.nowUs() / 1000;
      progress.tick(now, h.size(), fault);
      if (now >= ms) {
        return;
      }
      try {
        Thread.sleep(Math.min(250, ms - now));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted", e);
      }
    }
  }

  /**
   * Reads every name back (linearizable, through a resolver no fault touches) and takes each
   * replica's head and lineage of every scope the anchors host now.
   */
  public static FinalState finalState(
      SimFabric fabric, List<Op> ops, boolean converged, double settledFromS, double workloadEnd) {
    Set<String> names = new LinkedHashSet<>();
    for (Op op : ops) {
      if (op.kind().isFamilyWrite()) {
        names.add(op.alias());
        if (op.target() != null) {
          names.add(op.target());
        }
      }
    }
    Map<String, SimClient.Answer> answers = new LinkedHashMap<>();
    try (SimClient observer = fabric.observer()) {
      for (String n : names) {
        answers.put(n, observer.resolve(n, Consistency.CONSISTENCY_LINEARIZABLE, 0));
      }
    }
    Map<String, List<SimFabric.Replica>> replicas = new LinkedHashMap<>();
    Map<String, Map<String, List<LineageEntry>>> lineage = new LinkedHashMap<>();
    for (SimFabric.Hosted s : fabric.allScopes()) {
      String label = replicas.containsKey(s.label()) ? s.label() + " #" + s.id() : s.label();
      replicas.put(label, fabric.replicas(s));
      Map<String, List<LineageEntry>> byReplica = new LinkedHashMap<>();
      for (String a : s.anchors()) {
        if (!fabric.isDown(a)) {
          byReplica.put(a, fabric.lineage(s, a));
        }
      }
      lineage.put(label, byReplica);
    }
    return new FinalState(
        converged, fabric.unsettled(), replicas, lineage, answers, settledFromS, workloadEnd);
  }
}
