package org.anf.sim.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.anf.sim.history.Op;

/** Per-second figures of a run, bucketed by when each operation completed. */
public final class Series {
  public final int seconds;
  public final double[] writesOk;
  public final double[] writesFailed;
  public final double[] resolvesFresh;
  public final double[] resolvesStale;
  public final double[] resolvesUnavailable;
  public final double[] writeP50;
  public final double[] writeP99;
  public final double[] resolveP50;
  public final double[] resolveP99;

  public Series(List<Op> ops, double endS) {
    seconds = Math.max(1, (int) Math.ceil(endS));
    writesOk = new double[seconds];
    writesFailed = new double[seconds];
    resolvesFresh = new double[seconds];
    resolvesStale = new double[seconds];
    resolvesUnavailable = new double[seconds];
    List<List<Double>> wl = new ArrayList<>();
    List<List<Double>> rl = new ArrayList<>();
    for (int i = 0; i < seconds; i++) {
      wl.add(new ArrayList<>());
      rl.add(new ArrayList<>());
    }
    for (Op op : ops) {
      int s = (int) Math.min(seconds - 1, Math.max(0, Math.floor(op.completedS())));
      boolean ok = op.outcome() == Op.Outcome.OK;
      if (op.kind().isWrite()) {
        if (ok) {
          writesOk[s]++;
          wl.get(s).add(op.latencyMs());
        } else {
          writesFailed[s]++;
        }
      } else {
        if (ok && op.stale()) {
          resolvesStale[s]++;
        } else if (ok) {
          resolvesFresh[s]++;
        } else {
          resolvesUnavailable[s]++;
        }
        if (ok) {
          rl.get(s).add(op.latencyMs());
        }
      }
    }
    writeP50 = percentile(wl, 50);
    writeP99 = percentile(wl, 99);
    resolveP50 = percentile(rl, 50);
    resolveP99 = percentile(rl, 99);
  }

  private static double[] percentile(List<List<Double>> buckets, double p) {
    double[] out = new double[buckets.size()];
    for (int i = 0; i < out.length; i++) {
      List<Double> b = buckets.get(i);
      if (b.isEmpty()) {
        out[i] = Double.NaN;
        continue;
      }
      double[] v = b.stream().mapToDouble(Double::doubleValue).toArray();
      Arrays.sort(v);
      out[i] = v[(int) Math.min(v.length - 1, Math.ceil(p / 100 * v.length) - 1)];
    }
    return out;
  }

  /** Share of resolves answered (fresh or stale) in second i, or NaN without resolves. */
  public double availability(int i) {
    double all = resolvesFresh[i] + resolvesStale[i] + resolvesUnavailable[i];
    return all == 0 ? Double.NaN : (resolvesFresh[i] + resolvesStale[i]) / all;
  }
}
