package org.anf.sim.faults;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.anchor.faults.LinkFaults;

/**
 * The state of every directed link of a simulated fabric: between anchors ({@code a1}, {@code
 * a2}...) and from resolvers/clients ({@code c1}...) to anchors. A link is up, cut, or delayed. The
 * anchors' interceptors (on their Ratis servers and their own services, {@code
 * org.anf.anchor.faults}) consult this table on every message; the nemesis changes it. Endpoints
 * not named here (the checker, {@code observer}) are never faulted.
 */
public final class Links implements LinkFaults, AutoCloseable {
  /** How a cut link behaves: refuse at once (UNAVAILABLE), or stay silent (timeouts). */
  public enum DropMode {
    FAIL_FAST,
    BLACKHOLE
  }

  /** One directed link's fault: cut (with how), or a delivery delay in milliseconds. */
  public record Fault(boolean cut, DropMode mode, long delayMs) {
    static final Fault UP = new Fault(false, DropMode.FAIL_FAST, 0);
  }

  public static final String OBSERVER = "observer";

  private final Map<String, Fault> faults = new ConcurrentHashMap<>();
  private final Counters counters = new Counters();
  private final ScheduledExecutorService timer =
      Executors.newScheduledThreadPool(
          2,
          r -> {
            Thread t = new Thread(r, "sim-link-delay");
            t.setDaemon(true);
            return t;
          });

  /** Messages the links dropped and delayed, and calls whose source could not be told. */
  public static final class Counters {
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong delayed = new AtomicLong();
    private final AtomicLong unidentified = new AtomicLong();

    void countDropped() {
      dropped.incrementAndGet();
    }

    void countDelayed() {
      delayed.incrementAndGet();
    }

    void countUnidentified() {
      unidentified.incrementAndGet();
    }

    public long droppedCount() {
      return dropped.get();
    }

    public long delayedCount() {
      return delayed.get();
    }

    public long unidentifiedCount() {
      return unidentified.get();
    }
  }

  public Counters counters() {
    return counters;
  }

  @Override
  public void dropped() {
    counters.countDropped();
  }

  @Override
  public void delayed() {
    counters.countDelayed();
  }

  @Override
  public void unidentified() {
    counters.countUnidentified();
  }

  @Override
  public LinkFaults.Link link(String from, String to) {
    Fault f = get(from, to);
    if (f.equals(Fault.UP)) {
      return LinkFaults.Link.UP;
    }
    return new LinkFaults.Link(f.cut(), f.mode() == DropMode.BLACKHOLE, f.delayMs());
  }

  /** Completes at {@code dueNanos} ({@link System#nanoTime} scale) on the delay timer. */
  @Override
  public CompletableFuture<Void> at(long dueNanos) {
    long wait = dueNanos - System.nanoTime();
    if (wait <= 0) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> f = new CompletableFuture<>();
    try {
      var unused = timer.schedule(() -> f.complete(null), wait, TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      f.complete(null);
    }
    return f;
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }

  private static String key(String from, String to) {
    return from + "->" + to;
  }

  public Fault get(String from, String to) {
    if (from.equals(to)) {
      return Fault.UP;
    }
    return faults.getOrDefault(key(from, to), Fault.UP);
  }

  public boolean isCut(String from, String to) {
    return get(from, to).cut();
  }

  public void cut(String from, String to, DropMode mode) {
    if (!from.equals(to)) {
      faults.put(key(from, to), new Fault(true, mode, 0));
    }
  }

  public void delay(String from, String to, long delayMs) {
    if (!from.equals(to)) {
      faults.put(key(from, to), new Fault(false, DropMode.FAIL_FAST, delayMs));
    }
  }

  /** Cuts every link between the two sides, both ways. */
  public void partition(List<String> a, List<String> b, DropMode mode) {
    for (String x : a) {
      for (String y : b) {
        cut(x, y, mode);
        cut(y, x, mode);
      }
    }
  }

  public void healAll() {
    faults.clear();
  }

  /** True when any link into or out of {@code node} from one of {@code others} is faulted. */
  public boolean anyFaultBetween(String node, List<String> others) {
    for (String o : others) {
      if (!get(o, node).equals(Fault.UP) || !get(node, o).equals(Fault.UP)) {
        return true;
      }
    }
    return false;
  }

  public boolean healthy() {
    return faults.isEmpty();
  }

  /** The faulted links, sorted, for logs and reports ({@code a1->a2 cut}). */
  public List<String> describe() {
    List<String> out = new ArrayList<>();
    new TreeMap<>(faults)
        .forEach(
            (k, f) ->
                out.add(
                    k
                        + (f.cut()
                            ? " cut" + (f.mode() == DropMode.BLACKHOLE ? " (blackhole)" : "")
                            : " +" + f.delayMs() + "ms")));
    return out;
  }
}
