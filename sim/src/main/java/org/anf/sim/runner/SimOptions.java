package org.anf.sim.runner;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.anf.sim.faults.FaultPlan;
import org.anf.sim.faults.Mutant;
import org.anf.sim.workload.Workload;
import org.jspecify.annotations.Nullable;

/**
 * Everything a simulation run depends on besides the seed's draws. {@link #command} prints the
 * exact command that reruns it.
 *
 * @param partitions the partition modes the seed may draw from
 */
public record SimOptions(
    long seed,
    long durationMs,
    int anchors,
    int scopes,
    Workload workload,
    Set<FaultPlan.Kind> faults,
    Set<FaultPlan.PartitionMode> partitions,
    Mutant mutant,
    @Nullable Path reportDir,
    @Nullable Path dataDir,
    boolean progress) {

  public SimOptions {
    if (durationMs < 5000) {
      throw new IllegalArgumentException("--duration must be at least 5s");
    }
    if (anchors < 3 || anchors > 9) {
      throw new IllegalArgumentException("--anchors must be between 3 and 9");
    }
    if (scopes < 1 || scopes > 16) {
      throw new IllegalArgumentException("--scopes must be between 1 and 16");
    }
    faults = faults.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(faults));
    if (partitions.isEmpty()) {
      throw new IllegalArgumentException("--partitions needs at least one mode");
    }
    partitions = Set.copyOf(EnumSet.copyOf(partitions));
    if (anchors < 5 && partitions.equals(Set.of(FaultPlan.PartitionMode.ISOLATE_SCOPE))) {
      throw new IllegalArgumentException(
          "--partitions isolate-scope needs --anchors 5 or more (with fewer, every anchor governs"
              + " every scope)");
    }
  }

  public static SimOptions defaults(long seed, long durationMs) {
    return new SimOptions(
        seed,
        durationMs,
        3,
        2,
        new Workload(3, 30, Workload.defaultMix(), 6000),
        Set.of(FaultPlan.Kind.values()),
        Set.of(FaultPlan.PartitionMode.values()),
        Mutant.NONE,
        null,
        null,
        false);
  }

  public SimOptions withReportDir(@Nullable Path dir) {
    return new SimOptions(
        seed,
        durationMs,
        anchors,
        scopes,
        workload,
        faults,
        partitions,
        mutant,
        dir,
        dataDir,
        progress);
  }

  public SimOptions withMutant(Mutant m) {
    return new SimOptions(
        seed,
        durationMs,
        anchors,
        scopes,
        workload,
        faults,
        partitions,
        m,
        reportDir,
        dataDir,
        progress);
  }

  public SimOptions withFaults(Set<FaultPlan.Kind> kinds) {
    return new SimOptions(
        seed,
        durationMs,
        anchors,
        scopes,
        workload,
        kinds,
        partitions,
        mutant,
        reportDir,
        dataDir,
        progress);
  }

  public SimOptions withPartitions(Set<FaultPlan.PartitionMode> modes) {
    return new SimOptions(
        seed,
        durationMs,
        anchors,
        scopes,
        workload,
        faults,
        modes,
        mutant,
        reportDir,
        dataDir,
        progress);
  }

  public SimOptions withLayout(int anchorCount, int scopeCount) {
    return new SimOptions(
        seed,
        durationMs,
        anchorCount,
        scopeCount,
        workload,
        faults,
        partitions,
        mutant,
        reportDir,
        dataDir,
        progress);
  }

  public SimOptions withWorkload(Workload w) {
    return new SimOptions(
        seed,
        durationMs,
        anchors,
        scopes,
        w,
        faults,
        partitions,
        mutant,
        reportDir,
        dataDir,
        progress);
  }

  /**
   * The command line that reruns this run exactly: every option that shapes it (same seed, same
   * plan, same workload). Left out on purpose: {@code --report} (a rerun must not overwrite the
   * failing run's report), {@code --data} (a rerun starts from an empty fabric) and {@code --quiet}
   * (the terminal only).
   */
  public String command() {
    StringBuilder sb = new StringBuilder("bin/anf sim");
    sb.append(" --seed ").append(seed);
    sb.append(" --duration ").append(durationText(durationMs));
    sb.append(" --anchors ").append(anchors);
    sb.append(" --scopes ").append(scopes);
    sb.append(" --clients ").append(workload.clients());
    sb.append(" --rate ").append(fmt(workload.opsPerSecond()));
    sb.append(" --mix ").append(workload.mixText());
    sb.append(" --op-timeout ").append(durationText(workload.opTimeoutMs()));
    sb.append(" --faults ").append(faultsText());
    sb.append(" --partitions ").append(partitionsText());
    if (mutant != Mutant.NONE) {
      sb.append(" --mutant ").append(mutant.flag());
    }
    return sb.toString();
  }

  public String partitionsText() {
    if (partitions.size() == FaultPlan.PartitionMode.values().length) {
      return "all";
    }
    return String.join(",", partitions.stream().sorted().map(FaultPlan::flag).toList());
  }

  public String faultsText() {
    if (faults.isEmpty()) {
      return "none";
    }
    if (faults.size() == FaultPlan.Kind.values().length) {
      return "all";
    }
    return String.join(
        ",", faults.stream().sorted().map(k -> k.name().toLowerCase(Locale.ROOT)).toList());
  }

  static String fmt(double d) {
    return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
  }

  public static String durationText(long ms) {
    if (ms % 60_000 == 0 && ms >= 120_000) {
      return (ms / 60_000) + "m";
    }
    if (ms % 1000 == 0) {
      return (ms / 1000) + "s";
    }
    return ms + "ms";
  }

  /** Parses {@code 60s}, {@code 2m}, {@code 1500ms} or a bare number of seconds. */
  public static long parseDuration(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    try {
      if (t.endsWith("ms")) {
        return Long.parseLong(t.substring(0, t.length() - 2));
      }
      if (t.endsWith("s")) {
        return Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 1000);
      }
      if (t.endsWith("m")) {
        return Math.round(Double.parseDouble(t.substring(0, t.length() - 1)) * 60_000);
      }
      return Math.round(Double.parseDouble(t) * 1000);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "--duration looks like 60s, 2m or 1500ms; got '" + text + "'");
    }
  }
}
