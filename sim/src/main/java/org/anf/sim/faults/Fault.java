package org.anf.sim.faults;

import java.util.List;

/**
 * One scheduled fault: links cut (with how), links delayed (by how much), or an anchor crashed.
 *
 * @param cuts directed links cut ({@code from}, {@code to})
 * @param delays directed links delayed by {@code delayMs}
 * @param crashed anchors stopped for the period and restarted from their data dirs after it
 */
public record Fault(
    FaultPlan.Kind kind,
    String description,
    List<Link> cuts,
    Links.DropMode mode,
    List<Link> delays,
    long delayMs,
    List<String> crashed) {

  /** A directed link. */
  public record Link(String from, String to) {}

  public Fault {
    cuts = List.copyOf(cuts);
    delays = List.copyOf(delays);
    crashed = List.copyOf(crashed);
  }

  /** Sets the links' state for this fault (crashes are the runner's: they need the fabric). */
  public void applyLinks(Links links) {
    cuts.forEach(l -> links.cut(l.from(), l.to(), mode));
    delays.forEach(l -> links.delay(l.from(), l.to(), delayMs));
  }
}
