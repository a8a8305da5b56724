package org.anf.anchor.faults;

import java.util.concurrent.CompletableFuture;

/**
 * The state of the directed links between named parties (anchors {@code a1}, {@code a2}...;
 * simulated clients {@code c1}...), which the interceptors of this package consult on every
 * message. Pure Java, so that a simulator can implement it without touching Ratis or gRPC.
 */
public interface LinkFaults {
  /**
   * One directed link's state.
   *
   * @param cut messages on the link are not delivered
   * @param blackhole when cut: silent rather than refused at once: a unary request is lost, a
   *     stream's messages are held until the link is back (callers time out meanwhile)
   * @param delayMs when not cut: each message is delivered this much later, in order
   */
  record Link(boolean cut, boolean blackhole, long delayMs) {
    public static final Link UP = new Link(false, false, 0);
  }

  /** The state of the link {@code from -> to} now. */
  Link link(String from, String to);

  /**
   * A future completed at {@code dueNanos} ({@link System#nanoTime} scale), on which delayed
   * deliveries are chained; completed at once when due already or when the timer is gone.
   */
  CompletableFuture<Void> at(long dueNanos);

  /** A message was dropped on a cut link. */
  default void dropped() {}

  /** A message was delayed. */
  default void delayed() {}

  /** A call arrived whose sender could not be told (so no link applied to it). */
  default void unidentified() {}
}
