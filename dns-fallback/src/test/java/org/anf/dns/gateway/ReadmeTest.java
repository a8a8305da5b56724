package org.anf.dns.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.anf.dns.fallback.FallbackConfig;
import org.anf.resolver.ResolveOptions;
import org.junit.jupiter.api.Test;

/** The defaults documented in README.md are the defaults in the code, field for field. */
class ReadmeTest {
  static final Pattern ROW = Pattern.compile("^\\| `(\\w+)` \\| `?([^|`]+?)`? \\|");

  static Map<String, String> table(String readme, String after) {
    Map<String, String> rows = new LinkedHashMap<>();
    List<String> lines = readme.substring(readme.indexOf(after)).lines().toList();
    boolean inTable = false;
    for (String line : lines) {
      Matcher m = ROW.matcher(line);
      if (m.find() && !m.group(1).equals("field")) {
        rows.put(m.group(1), m.group(2).trim());
        inTable = true;
      } else if (inTable && !line.startsWith("|")) {
        break;
      }
    }
    return rows;
  }

  static Map<String, String> defaults(Record r) throws ReflectiveOperationException {
    Map<String, String> out = new LinkedHashMap<>();
    for (RecordComponent c : r.getClass().getRecordComponents()) {
      out.put(c.getName(), render(c.getAccessor().invoke(r)));
    }
    return out;
  }

  static String render(Object v) {
    if (v instanceof Duration d) {
      return d.toSeconds() + "s";
    }
    if (v instanceof List<?> l && l.isEmpty()) {
      return "none";
    }
    if (v instanceof ResolveOptions o && o.equals(ResolveOptions.DEFAULT)) {
      return "ResolveOptions.DEFAULT";
    }
    return String.valueOf(v);
  }

  @Test
  void documentedDefaultsAreTheCodesDefaults() throws IOException, ReflectiveOperationException {
    String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8);
    assertThat(table(readme, "`GatewayConfig` (defaults"))
        .containsExactlyEntriesOf(defaults(GatewayConfig.DEFAULT));
    assertThat(table(readme, "`FallbackConfig` (defaults"))
        .containsExactlyEntriesOf(defaults(FallbackConfig.DEFAULT));
  }
}
