package org.anf.sim.bench;

import java.util.Arrays;

/** Latency samples in nanoseconds, with percentiles (exact: the samples are kept and sorted). */
final class Latencies {
  private long[] samples = new long[1 << 16];
  private int n;

  synchronized void add(long nanos) {
    if (n == samples.length) {
      samples = Arrays.copyOf(samples, n * 2);
    }
    samples[n++] = nanos;
  }

  synchronized void addAll(Latencies other) {
    synchronized (other) {
      for (int i = 0; i < other.n; i++) {
        add(other.samples[i]);
      }
    }
  }

  synchronized int count() {
    return n;
  }

  /** p50, p99 and the slowest sample, as a write row prints them. */
  String figures() {
    return String.format(
        "p50 %6.2f ms  p99 %6.2f ms  max %7.1f ms",
        percentileMs(50), percentileMs(99), percentileMs(100));
  }

  /** The p-th percentile in milliseconds (p in 0..100). */
  synchronized double percentileMs(double p) {
    if (n == 0) {
      return Double.NaN;
    }
    long[] s = Arrays.copyOf(samples, n);
    Arrays.sort(s);
    int idx = (int) Math.min(n - 1, Math.max(0, Math.ceil(p / 100.0 * n) - 1));
    return s[idx] / 1e6;
  }
}
