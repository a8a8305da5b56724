package org.anf.lineage.testing;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * Turns a test's timeout (junit-platform.properties sets one for every test) into a failure whose
 * message holds the stacks of the threads in anf, Ratis's state machine updater or RocksDB. CI
 * keeps only the tail of the build log, and a hang without its stacks cannot be read there. (A
 * compact {@code org.anf.anchor.dev.ThreadDumps}: lineage's tests cannot reach anchor-node.)
 * Registered for every test through the ServiceLoader (extension autodetection).
 */
public final class HangDump implements TestExecutionExceptionHandler {
  private static final int FRAMES = 14;

  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable thrown)
      throws Throwable {
    // By name: lineage's code, tests included, may not import java.util.concurrent (enforcer).
    if (thrown.getClass().getName().equals("java.util.concurrent.TimeoutException")) {
      throw new AssertionError(
          thrown.getMessage() + "; threads at that moment:\n" + dump(), thrown);
    }
    throw thrown;
  }

  /** The threads with a frame of interest, each with its state, lock and top frames. */
  static String dump() {
    StringBuilder sb = new StringBuilder();
    java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    long[] deadlocked = mx.findDeadlockedThreads();
    if (deadlocked != null) {
      sb.append("deadlocked thread ids: ")
          .append(java.util.Arrays.toString(deadlocked))
          .append('\n');
    }
    for (ThreadInfo t : mx.dumpAllThreads(true, true)) {
      StackTraceElement[] stack = t.getStackTrace();
      if (!interesting(stack)) {
        continue;
      }
      sb.append('"')
          .append(t.getThreadName())
          .append("\" #")
          .append(t.getThreadId())
          .append(' ')
          .append(t.getThreadState());
      if (t.getLockName() != null) {
        sb.append(" on ").append(t.getLockName());
      }
      if (t.getLockOwnerName() != null) {
        sb.append(" owned by \"").append(t.getLockOwnerName()).append('"');
      }
      sb.append('\n');
      for (int i = 0; i < Math.min(FRAMES, stack.length); i++) {
        sb.append("    at ").append(stack[i]).append('\n');
      }
    }
    return sb.toString();
  }

  private static boolean interesting(StackTraceElement[] stack) {
    for (StackTraceElement e : stack) {
      String c = e.getClassName();
      if (c.startsWith("org.anf.")
          || c.startsWith("org.rocksdb.")
          || c.endsWith("StateMachineUpdater")) {
        return true;
      }
    }
    return false;
  }
}
