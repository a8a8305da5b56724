package org.anf.sim.history;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every client operation of a run, with invocation and completion times on one clock (the run's
 * start is zero), plus the fault periods as they actually happened. Thread-safe; {@link #ops} is a
 * snapshot sorted by invocation.
 */
public final class History {
  private final long startNanos;
  private final AtomicLong ids = new AtomicLong();
  private final List<Op> ops = new ArrayList<>();
  private final List<FaultSpan> faults = new ArrayList<>();

  /** A fault as it was applied: from when to when (seconds since start), and what. */
  public record FaultSpan(double startS, double endS, String kind, String description) {}

  public History(long startNanos) {
    this.startNanos = startNanos;
  }

  public long nowUs() {
    return (System.nanoTime() - startNanos) / 1000;
  }

  public long nextId() {
    return ids.incrementAndGet();
  }

  public synchronized void add(Op op) {
    ops.add(op);
  }

  public synchronized void fault(FaultSpan span) {
    faults.add(span);
  }

  public synchronized List<Op> ops() {
    List<Op> out = new ArrayList<>(ops);
    out.sort(Comparator.comparingLong(Op::invokedUs).thenComparingLong(Op::id));
    return out;
  }

  public synchronized List<FaultSpan> faults() {
    List<FaultSpan> out = new ArrayList<>(faults);
    out.sort(Comparator.comparingDouble(FaultSpan::startS));
    return out;
  }

  public synchronized int size() {
    return ops.size();
  }
}
