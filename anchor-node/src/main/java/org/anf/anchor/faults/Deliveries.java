package org.anf.anchor.faults;

import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * The events of one intercepted call on their way to the server, in order: at once while nothing
 * waits, behind a delay, or held while the link {@code from->self} is silent. Once one event waits,
 * every later one queues behind it, as a link delivers in order. Both gates ({@code ServiceGate},
 * {@code RaftGate}) deliver through this; it needs no gRPC type.
 */
final class Deliveries {
  private static final long HOLD_POLL_NANOS = 20_000_000L;
  private final LinkFaults links;
  private final String from;
  private final String self;
  private final BooleanSupplier callOver;
  // Guarded by this.
  private boolean chained;
  private CompletableFuture<Void> tail = CompletableFuture.completedFuture(null);

  Deliveries(LinkFaults links, String from, String self, BooleanSupplier callOver) {
    this.links = links;
    this.from = from;
    this.self = self;
    this.callOver = callOver;
  }

  /**
   * Delivers {@code event} {@code delayMs} from now (at once if 0 and nothing waits), skipping it
   * if {@code unlessOver} and the call is over by then.
   */
  void after(long delayMs, Runnable event, boolean unlessOver) {
    boolean queued;
    synchronized (this) {
      queued = chained || delayMs > 0;
    }
    if (!queued) {
      event.run();
      return;
    }
    long due = System.nanoTime() + delayMs * 1_000_000L;
    chain(() -> links.at(due), event, unlessOver);
  }

  /** Holds {@code event}, and everything after it, until the link {@code from->self} is up. */
  void whenLinkUp(Runnable event) {
    chain(this::linkUp, event, true);
  }

  /** Completes once the link is no longer cut (polled), or the call is over. */
  private CompletableFuture<Void> linkUp() {
    if (!links.link(from, self).cut() || callOver.getAsBoolean()) {
      return CompletableFuture.completedFuture(null);
    }
    CompletableFuture<Void> tick = links.at(System.nanoTime() + HOLD_POLL_NANOS);
    if (tick.isDone()) {
      // The links' timer is gone (the fabric is closing): stop holding.
      return tick;
    }
    return tick.thenCompose(v -> linkUp());
  }

  /**
   * Runs {@code event} once everything queued before it ran and {@code ready} completes. Never
   * under a lock: the server's callbacks take locks of their own and then send through the gate
   * (Ratis replies while holding its stream observer's lock), so running one under the gate's lock
   * deadlocked a delayed Raft stream against its own reply, and the anchor's close then waited for
   * it forever.
   */
  private void chain(Supplier<CompletableFuture<Void>> ready, Runnable event, boolean unlessOver) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    CompletableFuture<Void> previous;
    synchronized (this) {
      chained = true;
      previous = tail;
      tail = done;
    }
    var unused =
        previous
            .thenCompose(v -> ready.get())
            .thenRun(
                () -> {
                  if (!unlessOver || !callOver.getAsBoolean()) {
                    runQuietly(event);
                  }
                })
            // Whatever became of this one, the next one goes on.
            .whenComplete((v, e) -> done.complete(null));
  }

  private static void runQuietly(Runnable r) {
    try {
      r.run();
    } catch (RuntimeException e) {
      // A delayed delivery to a call the server already finished: nothing to deliver to.
    }
  }
}
