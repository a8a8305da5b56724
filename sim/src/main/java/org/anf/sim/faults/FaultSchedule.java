package org.anf.sim.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * When each fault happens in a run, drawn from the seed before the run starts: a short healthy
 * warm-up, then faults separated by quiet gaps, then a healed tail in which the workload goes on
 * (and availability must come back).
 */
public record FaultSchedule(List<Period> periods, long faultsEndMs) {
  /** A fault and the time it holds, in ms since the run started. */
  public record Period(long startMs, long endMs, Fault fault) {}

  public FaultSchedule {
    periods = List.copyOf(periods);
  }

  /** The healed tail of a run: at least 3 s, a fifth of a long run. */
  public static long tailMs(long durationMs) {
    return Math.max(3000, durationMs / 5);
  }

  public static long warmupMs(long durationMs) {
    return Math.min(2000, durationMs / 10);
  }

  public static FaultSchedule generate(
      FaultPlan plan,
      SplittableRandom r,
      long durationMs,
      List<String> anchors,
      List<String> clients,
      List<List<String>> scopeAnchors) {
    List<Period> out = new ArrayList<>();
    long end = durationMs - tailMs(durationMs);
    long t = warmupMs(durationMs);
    List<FaultPlan.Kind> kinds = new ArrayList<>(plan.kinds());
    kinds.sort(null);
    List<FaultPlan.PartitionMode> modes = new ArrayList<>(plan.partitionModes());
    modes.sort(null);
    while (!kinds.isEmpty() && t + plan.faultMsMin() <= end) {
      long len = between(r, plan.faultMsMin(), plan.faultMsMax());
      long stop = Math.min(end, t + len);
      FaultPlan.Kind kind = kinds.get(r.nextInt(kinds.size()));
      Fault f =
          switch (kind) {
            case PARTITION -> partition(plan, r, modes, anchors, clients, scopeAnchors);
            case DELAY -> delay(plan, r, anchors);
            case CRASH -> {
              String a = anchors.get(r.nextInt(anchors.size()));
              yield new Fault(
                  kind,
                  "crash " + a,
                  List.of(),
                  Links.DropMode.FAIL_FAST,
                  List.of(),
                  0,
                  List.of(a));
            }
          };
      out.add(new Period(t, stop, f));
      t = stop + between(r, plan.quietMsMin(), plan.quietMsMax());
    }
    return new FaultSchedule(out, out.isEmpty() ? 0 : out.get(out.size() - 1).endMs());
  }

  private static long between(SplittableRandom r, long lo, long hi) {
    return hi <= lo ? lo : lo + r.nextLong(hi - lo + 1);
  }

  private static Fault partition(
      FaultPlan plan,
      SplittableRandom r,
      List<FaultPlan.PartitionMode> modes,
      List<String> anchors,
      List<String> clients,
      List<List<String>> scopeAnchors) {
    FaultPlan.PartitionMode mode =
        modes.isEmpty() ? FaultPlan.PartitionMode.ISOLATE_ONE : modes.get(r.nextInt(modes.size()));
    Links.DropMode drop =
        r.nextDouble() < plan.blackholeRatio()
            ? Links.DropMode.BLACKHOLE
            : Links.DropMode.FAIL_FAST;
    List<String> a = new ArrayList<>();
    List<String> b = new ArrayList<>(anchors);
    List<Fault.Link> cuts = new ArrayList<>();
    String what;
    switch (mode) {
      case ISOLATE_ONE -> {
        String x = anchors.get(r.nextInt(anchors.size()));
        a.add(x);
        b.remove(x);
        what = "isolate " + x;
      }
      case RANDOM_SPLIT -> {
        List<String> shuffled = new ArrayList<>(anchors);
        for (int i = shuffled.size() - 1; i > 0; i--) {
          int j = r.nextInt(i + 1);
          String tmp = shuffled.get(i);
          shuffled.set(i, shuffled.get(j));
          shuffled.set(j, tmp);
        }
        int k = 1 + r.nextInt(Math.max(1, anchors.size() / 2));
        a.addAll(shuffled.subList(0, k));
        b.removeAll(a);
        what = "split";
      }
      case ISOLATE_SCOPE -> {
        int s = r.nextInt(scopeAnchors.size());
        a.addAll(scopeAnchors.get(s));
        b.removeAll(a);
        what = "isolate scope s" + s;
      }
      case ASYMMETRIC -> {
        String x = anchors.get(r.nextInt(anchors.size()));
        boolean outbound = r.nextBoolean();
        for (String y : anchors) {
          if (!y.equals(x)) {
            cuts.add(outbound ? new Fault.Link(x, y) : new Fault.Link(y, x));
          }
        }
        return new Fault(
            FaultPlan.Kind.PARTITION,
            (outbound ? x + " cannot send to" : x + " cannot hear") + " the other anchors",
            cuts,
            drop,
            List.of(),
            0,
            List.of());
      }
      default -> throw new IllegalStateException("unknown partition mode " + mode);
    }
    List<String> sideA = new ArrayList<>(a);
    List<String> sideB = new ArrayList<>(b);
    for (String c : clients) {
      boolean onA;
      if (mode == FaultPlan.PartitionMode.ISOLATE_SCOPE) {
        onA = false;
      } else if (!plan.clientsPartitioned()) {
        continue;
      } else {
        onA = r.nextInt(anchors.size()) < a.size();
      }
      (onA ? sideA : sideB).add(c);
    }
    for (String x : sideA) {
      for (String y : sideB) {
        if (x.startsWith("c") && y.startsWith("c")) {
          continue;
        }
        cuts.add(new Fault.Link(x, y));
        cuts.add(new Fault.Link(y, x));
      }
    }
    return new Fault(
        FaultPlan.Kind.PARTITION,
        String.format(
            Locale.ROOT,
            "%s: %s | %s%s",
            what,
            String.join(",", sideA),
            String.join(",", sideB),
            drop == Links.DropMode.BLACKHOLE ? " (blackhole)" : ""),
        cuts,
        drop,
        List.of(),
        0,
        List.of());
  }

  private static Fault delay(FaultPlan plan, SplittableRandom r, List<String> anchors) {
    long ms = between(r, plan.delayMsMin(), plan.delayMsMax());
    List<Fault.Link> links = new ArrayList<>();
    for (int i = 0; i < anchors.size(); i++) {
      for (int j = i + 1; j < anchors.size(); j++) {
        if (r.nextBoolean()) {
          links.add(new Fault.Link(anchors.get(i), anchors.get(j)));
          links.add(new Fault.Link(anchors.get(j), anchors.get(i)));
        }
      }
    }
    if (links.isEmpty()) {
      links.add(new Fault.Link(anchors.get(0), anchors.get(1)));
      links.add(new Fault.Link(anchors.get(1), anchors.get(0)));
    }
    List<String> pairs = new ArrayList<>();
    for (int i = 0; i < links.size(); i += 2) {
      pairs.add(links.get(i).from() + "-" + links.get(i).to());
    }
    return new Fault(
        FaultPlan.Kind.DELAY,
        "delay " + ms + " ms on " + String.join(" ", pairs),
        List.of(),
        Links.DropMode.FAIL_FAST,
        links,
        ms,
        List.of());
  }
}
