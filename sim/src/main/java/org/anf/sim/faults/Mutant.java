package org.anf.sim.workload;

import java.util.Locale;

/**
 * Deliberate faults in the simulated client, to show that the checkers catch real bugs. None of
 * them touches the anchors; each breaks one promise the client layer makes.
 */
public enum Mutant {
  NONE("the client as it should be"),
  ACK_BEFORE_COMMIT("writes are acknowledged once sent, before the commit reply arrives"),
  SKIP_REDIRECT("the resolver treats a REDIRECTED answer as NOT_FOUND instead of following it"),
  UNMARK_STALE("the resolver drops the stale mark from answers");

  private final String description;

  Mutant(String description) {
    this.description = description;
  }

  public String description() {
    return description;
  }

  public String flag() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static Mutant parse(String s) {
    for (Mutant m : values()) {
      if (m.flag().equals(s) || m.name().equalsIgnoreCase(s)) {
        return m;
      }
    }
    throw new IllegalArgumentException(
        "unknown mutant '" + s + "' (none, ack-before-commit, skip-redirect, unmark-stale)");
  }
}
