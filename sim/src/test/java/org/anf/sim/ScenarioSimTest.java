package org.anf.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.stream.Stream;
import org.anf.sim.scenario.ScenarioRunner;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Replays every golden scenario in {@code src/test/resources/scenarios} (the pinned behaviours, and
 * the mutant files that show each checker catching a real client bug); {@code scenarios/slow} runs
 * under {@code -Pslow}.
 */
class ScenarioSimTest {
  static Stream<Path> scenarios() throws Exception {
    return files("/scenarios");
  }

  static Stream<Path> slowScenarios() throws Exception {
    return files("/scenarios/slow");
  }

  private static Stream<Path> files(String dir) throws java.io.IOException, URISyntaxException {
    Path d = Path.of(Objects.requireNonNull(ScenarioSimTest.class.getResource(dir)).toURI());
    try (Stream<Path> s = Files.list(d)) {
      List<Path> out = s.filter(p -> p.toString().endsWith(".txt")).sorted().toList();
      assertThat(out).isNotEmpty();
      return out.stream();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("scenarios")
  void scenario(Path file) throws Exception {
    String transcript = ScenarioRunner.run(file);
    assertThat(transcript).contains("(expect");
  }

  @Tag("slow")
  @ParameterizedTest(name = "{0}")
  @MethodSource("slowScenarios")
  void slowScenario(Path file) throws Exception {
    String transcript = ScenarioRunner.run(file);
    assertThat(transcript).contains("(expect");
  }
}
