package org.anf.sim.runner;

import java.nio.file.Path;
import java.util.List;
import org.anf.sim.check.FinalState;
import org.anf.sim.check.Verdict;
import org.anf.sim.faults.FaultPlan;
import org.anf.sim.faults.FaultSchedule;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.jspecify.annotations.Nullable;

/** A finished run: what was asked, what happened, and what the checkers made of it. */
public record SimResult(
    SimOptions options,
    FaultPlan plan,
    FaultSchedule schedule,
    List<Op> ops,
    List<History.FaultSpan> faults,
    List<Verdict> verdicts,
    FinalState finalState,
    long elapsedMs,
    long droppedMessages,
    long delayedMessages,
    long unidentifiedCalls,
    @Nullable Path json,
    @Nullable Path html) {

  public boolean ok() {
    return verdicts.stream().allMatch(Verdict::ok);
  }

  public SimResult withReports(Path jsonFile, Path htmlFile) {
    return new SimResult(
        options,
        plan,
        schedule,
        ops,
        faults,
        verdicts,
        finalState,
        elapsedMs,
        droppedMessages,
        delayedMessages,
        unidentifiedCalls,
        jsonFile,
        htmlFile);
  }
}
