package org.anf.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import org.anf.sim.runner.SimOptions;
import org.anf.sim.runner.SimResult;
import org.anf.sim.runner.SimRun;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTML report renders in headless Chromium (Debian's {@code chromium}, which {@code -Pslow}
 * needs): a short run's report is screenshotted and the PNG checked.
 */
@Tag("slow")
class ReportScreenshotSimTest {
  @Test
  void reportRendersInHeadlessChromium(@TempDir Path dir) throws Exception {
    Path chromium = Path.of("/usr/bin/chromium");
    assertThat(chromium)
        .as("headless Chromium is needed: apt-get install -y chromium")
        .isExecutable();
    SimResult r = SimRun.run(SimOptions.defaults(4, 12_000).withReportDir(dir), System.out);
    Path html = Objects.requireNonNull(r.html());
    Path png = dir.resolve("report.png");
    Process p =
        new ProcessBuilder(
                List.of(
                    chromium.toString(),
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    "--screenshot=" + png,
                    "--window-size=1280,1700",
                    html.toUri().toString()))
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("chromium.log").toFile())
            .start();
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("chromium finished").isTrue();
    assertThat(p.exitValue()).as(Files.readString(dir.resolve("chromium.log"))).isZero();
    byte[] b = Files.readAllBytes(png);
    assertThat(b.length).isGreaterThan(20_000);
    assertThat(new String(b, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
  }
}
