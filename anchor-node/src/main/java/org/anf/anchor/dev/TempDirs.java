package org.anf.anchor.dev;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Temporary directories that demos, benchmarks and simulations make and remove. */
public final class TempDirs {
  private TempDirs() {}

  /**
   * Deletes {@code dir} and everything under it, as far as it can: a temporary directory left
   * behind is not worth failing a run for.
   */
  public static void deleteTree(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // Gone already, or unreadable: nothing more to do.
    }
  }
}
