package org.anf.anchor.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.function.Supplier;

/** The anchor node's meters: commits, apply latency, lookup latency, leader changes, groups. */
public final class AnchorMetrics {
  private final Counter commits;
  private final Counter refusals;
  private final Timer apply;
  private final Timer lookup;
  private final Timer submit;
  private final Counter leaderChanges;
  private final Counter snapshotsInstalled;
  private final io.micrometer.core.instrument.DistributionSummary batch;
  private final MeterRegistry registry;

  public AnchorMetrics(MeterRegistry registry, String nodeId, Supplier<Number> groupsHosted) {
    this.registry = registry;
    commits =
        Counter.builder("anf_commits")
            .description("Mutations committed and applied by this anchor")
            .tag("node", nodeId)
            .register(registry);
    refusals =
        Counter.builder("anf_refusals")
            .description("Mutations refused (before the log or at apply)")
            .tag("node", nodeId)
            .register(registry);
    apply =
        Timer.builder("anf_apply_latency")
            .description("Time to apply one committed mutation to the state")
            .tag("node", nodeId)
            .publishPercentiles(0.5, 0.99)
            .register(registry);
    lookup =
        Timer.builder("anf_lookup_latency")
            .description("Time to answer one Lookup")
            .tag("node", nodeId)
            .publishPercentiles(0.5, 0.99)
            .register(registry);
    submit =
        Timer.builder("anf_submit_latency")
            .description("Time from Submit to commit, as the client sees it")
            .tag("node", nodeId)
            .publishPercentiles(0.5, 0.99)
            .register(registry);
    batch =
        io.micrometer.core.instrument.DistributionSummary.builder("anf_batch_mutations")
            .description("Mutations per Raft log entry, as applied")
            .tag("node", nodeId)
            .register(registry);
    leaderChanges =
        Counter.builder("anf_leader_changes")
            .description("Leader changes observed in the groups this node hosts")
            .tag("node", nodeId)
            .register(registry);
    snapshotsInstalled =
        Counter.builder("anf_snapshots_installed")
            .description("Snapshots installed from a leader, the log having been purged past us")
            .tag("node", nodeId)
            .register(registry);
    // Gauge.builder holds the supplier strongly; registry.gauge() keeps only a weak reference,
    // which the collector cleared (the gauge read NaN).
    io.micrometer.core.instrument.Gauge.builder("anf_groups_hosted", groupsHosted)
        .description("Anchor groups (scopes) this node hosts")
        .tag("node", nodeId)
        .strongReference(true)
        .register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  public void committed(Duration applyTime) {
    commits.increment();
    apply.record(applyTime);
  }

  public void refused() {
    refusals.increment();
  }

  public void lookup(Duration d) {
    lookup.record(d);
  }

  public void submitted(Duration d) {
    submit.record(d);
  }

  public void batch(int mutations) {
    batch.record(mutations);
  }

  /** Mean mutations per applied log entry so far. */
  public double meanBatch() {
    return batch.mean();
  }

  public long batches() {
    return batch.count();
  }

  public void leaderChanged() {
    leaderChanges.increment();
  }

  public void snapshotInstalled() {
    snapshotsInstalled.increment();
  }
}
