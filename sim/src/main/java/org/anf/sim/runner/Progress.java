package org.anf.sim.runner;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar on the terminal for runs longer than a few seconds: redrawn in place on a console,
 * one line every ten seconds otherwise (logs, CI).
 */
final class Progress {
  private static final int WIDTH = 30;
  private final PrintStream out;
  private final long totalMs;
  private final boolean enabled;

  @SuppressWarnings("SystemConsoleNull") // Java 17: null means no terminal
  private final boolean console = System.console() != null;

  private long lastPrintMs = -1;

  Progress(PrintStream out, long totalMs, boolean enabled) {
    this.out = out;
    this.totalMs = totalMs;
    this.enabled = enabled && totalMs > 5000;
  }

  void tick(long nowMs, int ops, String fault) {
    if (!enabled) {
      return;
    }
    if (!console && lastPrintMs >= 0 && nowMs - lastPrintMs < 10_000) {
      return;
    }
    lastPrintMs = nowMs;
    int done = (int) Math.min(WIDTH, WIDTH * nowMs / Math.max(1, totalMs));
    String bar =
        "=".repeat(done) + (done < WIDTH ? ">" : "") + " ".repeat(Math.max(0, WIDTH - done - 1));
    String line =
        String.format(
            Locale.ROOT,
            "[%s] %3ds/%ds  %6d ops  %s",
            bar,
            nowMs / 1000,
            totalMs / 1000,
            ops,
            fault.isEmpty() ? "healthy" : fault);
    if (console) {
      String padded = line.length() > 110 ? line.substring(0, 110) : line;
      out.print("\r" + padded + " ".repeat(Math.max(0, 110 - padded.length())));
    } else {
      out.println(line);
    }
    out.flush();
  }

  void done() {
    if (enabled && console) {
      out.println();
      out.flush();
    }
  }
}
