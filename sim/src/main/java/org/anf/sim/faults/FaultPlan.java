package org.anf.sim.faults;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The fault model of a run as an options record: which faults may happen, how often, how long and
 * how hard. {@link #fromSeed} draws every field from the run's seed (a swarm: each seed a different
 * mix), restricted to the kinds asked for.
 *
 * @param kinds fault kinds that may be scheduled
 * @param partitionModes how partitions are drawn
 * @param blackholeRatio share of partitions that swallow traffic (callers time out) rather than
 *     refuse it at once
 * @param clientsPartitioned whether resolvers' links to anchors are cut in partitions too
 * @param delayMsMin smallest added link delay
 * @param delayMsMax largest added link delay
 * @param faultMsMin shortest fault period
 * @param faultMsMax longest fault period
 * @param quietMsMin shortest gap between faults
 * @param quietMsMax longest gap between faults
 */
public record FaultPlan(
    Set<Kind> kinds,
    Set<PartitionMode> partitionModes,
    double blackholeRatio,
    boolean clientsPartitioned,
    long delayMsMin,
    long delayMsMax,
    long faultMsMin,
    long faultMsMax,
    long quietMsMin,
    long quietMsMax) {

  public enum Kind {
    PARTITION,
    DELAY,
    CRASH
  }

  public enum PartitionMode {
    /** One anchor cut off from every other anchor. */
    ISOLATE_ONE,
    /** Anchors split at random into two sides. */
    RANDOM_SPLIT,
    /** Every anchor of one scope's group cut off from everything else. */
    ISOLATE_SCOPE,
    /** One anchor can send but not receive, or receive but not send. */
    ASYMMETRIC
  }

  public FaultPlan {
    kinds = kinds.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(kinds));
    partitionModes =
        partitionModes.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(partitionModes));
  }

  public static final FaultPlan NONE =
      new FaultPlan(Set.of(), Set.of(), 0, false, 0, 0, 1000, 1000, 1000, 1000);

  /**
   * Parses {@code --partitions}: {@code all}, or a list of isolate-one, random-split,
   * isolate-scope, asymmetric.
   */
  public static Set<PartitionMode> parseModes(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.equals("all")) {
      return EnumSet.allOf(PartitionMode.class);
    }
    Set<PartitionMode> out = EnumSet.noneOf(PartitionMode.class);
    for (String p : t.split(",")) {
      try {
        out.add(PartitionMode.valueOf(p.trim().toUpperCase(Locale.ROOT).replace('-', '_')));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "unknown partition mode '"
                + p.trim()
                + "' in --partitions; use isolate-one, random-split, isolate-scope, asymmetric or"
                + " all");
      }
    }
    if (out.isEmpty()) {
      throw new IllegalArgumentException("--partitions needs at least one mode");
    }
    return out;
  }

  /** The flag form of a partition mode: {@code isolate-scope}. */
  public static String flag(PartitionMode m) {
    return m.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Parses {@code --faults}: {@code all}, {@code none}, or a list of partition,delay,crash. */
  public static Set<Kind> parseKinds(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    if (t.equals("all")) {
      return EnumSet.allOf(Kind.class);
    }
    if (t.equals("none")) {
      return EnumSet.noneOf(Kind.class);
    }
    Set<Kind> out = EnumSet.noneOf(Kind.class);
    for (String p : t.split(",")) {
      try {
        out.add(Kind.valueOf(p.trim().toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "unknown fault '"
                + p.trim()
                + "' in --faults; use partition, delay, crash, all or none");
      }
    }
    return out;
  }

  /**
   * Draws a plan from the seed: the kinds asked for, a random non-empty subset of the partition
   * modes allowed (isolating a scope only when scopes are governed by a subset of the anchors), and
   * random rates.
   */
  public static FaultPlan fromSeed(
      SplittableRandom r,
      Set<Kind> kinds,
      Set<PartitionMode> allowed,
      boolean scopesOnSubsets,
      long durationMs) {
    List<PartitionMode> modes = new ArrayList<>();
    for (PartitionMode m : PartitionMode.values()) {
      if (allowed.contains(m)) {
        modes.add(m);
      }
    }
    if (!scopesOnSubsets && modes.size() > 1) {
      modes.remove(PartitionMode.ISOLATE_SCOPE);
    }
    Set<PartitionMode> chosen = EnumSet.noneOf(PartitionMode.class);
    for (PartitionMode m : modes) {
      if (r.nextInt(3) > 0) {
        chosen.add(m);
      }
    }
    if (chosen.isEmpty()) {
      chosen.add(modes.get(r.nextInt(modes.size())));
    }
    // Faults last 2-8 s in long runs, less in short ones; gaps are a little shorter.
    long scale = Math.max(1, Math.min(4, durationMs / 15_000));
    long faultMin = 1000 + 500 * scale;
    long faultMax = faultMin + 1000 * scale + r.nextInt(1000);
    long quietMin = 500 + 250 * scale;
    long quietMax = quietMin + 500 * scale + r.nextInt(1000);
    long delayMin = 5L + r.nextInt(20);
    long delayMax = delayMin + 20L + r.nextInt(200);
    return new FaultPlan(
        kinds,
        chosen,
        r.nextInt(4) == 0 ? 0.5 : 0.0,
        r.nextBoolean(),
        delayMin,
        delayMax,
        faultMin,
        faultMax,
        quietMin,
        quietMax);
  }

  public String describe() {
    if (kinds.isEmpty()) {
      return "no faults";
    }
    return String.format(
        Locale.ROOT,
        "faults %s; partitions %s%s%s; delays %d-%d ms; faults last %d-%d ms, %d-%d ms apart",
        kinds.stream().map(k -> k.name().toLowerCase(Locale.ROOT)).sorted().toList(),
        partitionModes.stream().map(m -> m.name().toLowerCase(Locale.ROOT)).sorted().toList(),
        clientsPartitioned ? " (resolvers on both sides)" : "",
        blackholeRatio > 0 ? ", half of them blackholes" : "",
        delayMsMin,
        delayMsMax,
        faultMsMin,
        faultMsMax,
        quietMsMin,
        quietMsMax);
  }
}
