package org.anf.anchor.dev;

import java.lang.management.LockInfo;
import java.lang.management.ManagementFactory;
import java.lang.management.MonitorInfo;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;

/** Every thread of this JVM as text, for evidence of what was stuck (tests, the benchmark). */
public final class ThreadDumps {
  private ThreadDumps() {}

  /**
   * Every thread's full stack (not {@link ThreadInfo#toString()}, which stops at 8 frames), the
   * lock it waits on and who owns it, the locks it holds, and any deadlock.
   */
  public static String text() {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    StringBuilder b = new StringBuilder();
    long[] deadlocked = mx.findDeadlockedThreads();
    if (deadlocked != null) {
      b.append("deadlocked thread ids: ").append(Arrays.toString(deadlocked)).append('\n');
    }
    for (ThreadInfo t : mx.dumpAllThreads(true, true)) {
      b.append('"').append(t.getThreadName()).append("\" ").append(t.getThreadState());
      if (t.getLockName() != null) {
        b.append(" on ").append(t.getLockName());
        if (t.getLockOwnerName() != null) {
          b.append(" owned by \"").append(t.getLockOwnerName()).append('"');
        }
      }
      b.append('\n');
      for (StackTraceElement e : t.getStackTrace()) {
        b.append("\tat ").append(e).append('\n');
      }
      for (MonitorInfo m : t.getLockedMonitors()) {
        b.append("\t- holds ").append(m).append('\n');
      }
      for (LockInfo l : t.getLockedSynchronizers()) {
        b.append("\t- holds ").append(l).append('\n');
      }
    }
    return b.toString();
  }
}
