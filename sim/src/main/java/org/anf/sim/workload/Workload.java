package org.anf.sim.workload;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * The workload's shape: how many clients, how many operations per second in all, and the mix of
 * operation kinds (relative weights). Everything random about the workload is drawn from the run's
 * seed.
 *
 * @param clients simulated clients (resolvers that also write), each its own thread
 * @param opsPerSecond target rate over all clients
 * @param mix weight of each kind: bind, rename, move (within a scope), xmove (to another scope),
 *     unbind, split, merge, resolve
 * @param opTimeoutMs how long one operation may take, retries included, before it counts as
 *     indeterminate (writes) or unavailable (resolves)
 */
public record Workload(
    int clients, double opsPerSecond, Map<String, Integer> mix, long opTimeoutMs) {
  public static final List<String> KINDS =
      List.of("bind", "rename", "move", "xmove", "unbind", "split", "merge", "resolve");

  public Workload {
    if (clients < 1) {
      throw new IllegalArgumentException("--clients must be at least 1");
    }
    if (opsPerSecond <= 0) {
      throw new IllegalArgumentException("--rate must be positive");
    }
    Map<String, Integer> positive = new TreeMap<>();
    mix.forEach(
        (k, v) -> {
          if (v < 0) {
            throw new IllegalArgumentException("--mix weight of " + k + " must not be negative");
          }
          if (v > 0) {
            positive.put(k, v);
          }
        });
    mix = Map.copyOf(positive);
    for (String k : mix.keySet()) {
      if (!KINDS.contains(k)) {
        throw new IllegalArgumentException("unknown operation '" + k + "' in --mix; use " + KINDS);
      }
    }
    if (mix.values().stream().mapToInt(Integer::intValue).sum() <= 0) {
      throw new IllegalArgumentException("--mix needs a positive weight");
    }
  }

  public static Map<String, Integer> defaultMix() {
    return Map.of(
        "bind", 20, "rename", 8, "move", 4, "xmove", 3, "unbind", 3, "split", 1, "merge", 1,
        "resolve", 65);
  }

  /** Parses {@code bind=20,rename=8,resolve=70}; kinds left out get weight 0. */
  public static Map<String, Integer> parseMix(String text) {
    Map<String, Integer> m = new TreeMap<>();
    for (String part : text.split(",")) {
      String p = part.trim();
      if (p.isEmpty()) {
        continue;
      }
      int eq = p.indexOf('=');
      if (eq < 0) {
        throw new IllegalArgumentException("--mix entries look like bind=20, got '" + p + "'");
      }
      try {
        m.put(
            p.substring(0, eq).trim().toLowerCase(Locale.ROOT),
            Integer.parseInt(p.substring(eq + 1).trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--mix weight must be a whole number, got '" + p + "'");
      }
    }
    return m;
  }

  /** Picks an operation kind by weight. */
  public String pick(SplittableRandom r) {
    int total = 0;
    for (String k : KINDS) {
      total += mix.getOrDefault(k, 0);
    }
    int x = r.nextInt(total);
    for (String k : KINDS) {
      x -= mix.getOrDefault(k, 0);
      if (x < 0) {
        return k;
      }
    }
    return "resolve";
  }

  /** The mix as {@code --mix} takes it: kinds with a weight, in the order of {@link #KINDS}. */
  public String mixText() {
    List<String> parts = new ArrayList<>();
    for (String k : KINDS) {
      if (mix.getOrDefault(k, 0) > 0) {
        parts.add(k + "=" + mix.get(k));
      }
    }
    return String.join(",", parts);
  }

  public String describe() {
    List<String> parts = new ArrayList<>();
    for (String k : KINDS) {
      parts.add(k + "=" + mix.getOrDefault(k, 0));
    }
    return String.format(
        Locale.ROOT,
        "%d clients, %.0f ops/s, mix %s, op timeout %d ms",
        clients,
        opsPerSecond,
        String.join(",", parts),
        opTimeoutMs);
  }
}
