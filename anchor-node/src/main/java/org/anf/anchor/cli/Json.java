package org.anf.anchor.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** A small ordered JSON writer for CLI output (field names as the CLI contract spells them). */
public final class Json {
  private final Map<String, Object> fields = new LinkedHashMap<>();

  public static Json obj() {
    return new Json();
  }

  public Json put(String key, @Nullable Object value) {
    fields.put(key, value == null ? NULL : value);
    return this;
  }

  private static final Object NULL = new Object();

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder();
    write(sb, this);
    return sb.toString();
  }

  private static void write(StringBuilder sb, @Nullable Object v) {
    if (v == null || v == NULL) {
      sb.append("null");
    } else if (v instanceof Json j) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<String, Object> e : j.fields.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        string(sb, e.getKey());
        sb.append(':');
        write(sb, e.getValue());
      }
      sb.append('}');
    } else if (v instanceof java.nio.file.Path p) {
      // A Path is an Iterable of its own segments: written as a list it never ends.
      string(sb, p.toString());
    } else if (v instanceof Iterable<?> it) {
      sb.append('[');
      boolean first = true;
      for (Object o : it) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        write(sb, o);
      }
      sb.append(']');
    } else if (v instanceof Boolean || v instanceof Integer || v instanceof Long) {
      sb.append(v);
    } else if (v instanceof Number n) {
      sb.append(n.toString());
    } else {
      string(sb, v.toString());
    }
  }

  private static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20) {
            sb.append(String.format("\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }

  public static List<Object> list() {
    return new ArrayList<>();
  }
}
