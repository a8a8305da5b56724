package org.anf.sim.check;

import java.util.List;
import java.util.Map;
import org.anf.proto.v1.LineageEntry;
import org.anf.sim.runner.SimFabric;
import org.anf.sim.workload.SimClient;

/**
 * What the fabric looked like after the faults healed: whether the replicas converged, each
 * replica's head and digest and lineage per scope (by path, every scope the anchors host then), and
 * the answer (linearizable, asked by the observer, which no fault touches) for every name the
 * workload ever used.
 *
 * @param unsettled what kept the fabric from settling after healing (open transactions, merged
 *     scopes not dissolved); empty when it settled
 * @param settledFromS from when (seconds since start) the fabric had been healed long enough to be
 *     expected available again
 * @param workloadEndS when the workload stopped
 */
public record FinalState(
    boolean converged,
    List<String> unsettled,
    Map<String, List<SimFabric.Replica>> replicas,
    Map<String, Map<String, List<LineageEntry>>> lineage,
    Map<String, SimClient.Answer> answers,
    double settledFromS,
    double workloadEndS) {
  public FinalState {
    unsettled = List.copyOf(unsettled);
  }
}
