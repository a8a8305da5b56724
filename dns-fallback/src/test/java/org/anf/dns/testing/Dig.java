package org.anf.dns.testing;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real {@code dig} (Debian package dnsutils) and returns what it printed. */
public final class Dig {
  private Dig() {}

  public record Result(int exitCode, String output) {}

  /** {@code dig @127.0.0.1 -p PORT +time=2 +tries=1 ARGS...}; fails clearly if dig is missing. */
  public static Result query(int port, String... args) {
    List<String> cmd = new ArrayList<>(List.of("dig", "@127.0.0.1", "-p", String.valueOf(port)));
    cmd.addAll(List.of("+time=2", "+tries=1"));
    cmd.addAll(List.of(args));
    Process p;
    try {
      p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new AssertionError("dig not found: install dnsutils (see .ci/run)", e);
    }
    try (InputStream in = p.getInputStream()) {
      String out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("dig did not finish in 30 s: " + cmd + "\n" + out);
      }
      return new Result(p.exitValue(), out);
    } catch (IOException e) {
      throw new AssertionError("reading dig's output failed: " + cmd, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted while running " + cmd, e);
    }
  }
}
