package org.anf.sim.check;

import java.util.List;

/**
 * One checker's judgement of a run.
 *
 * @param name short id ({@code acknowledged-writes})
 * @param title what the check promises, in words
 * @param ok whether the promise held
 * @param summary one line: what was checked and how it came out
 * @param problems each violation, a self-contained sentence naming the operations involved
 */
public record Verdict(
    String name, String title, boolean ok, String summary, List<String> problems) {
  public Verdict {
    problems = List.copyOf(problems);
  }
}
