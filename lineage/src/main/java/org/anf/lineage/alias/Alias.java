package org.anf.lineage.alias;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.anf.lineage.error.AnfException;
import org.jspecify.annotations.Nullable;

/**
 * A semantic hierarchical alias, {@code tld@domain[.sub...][/index...][.vN][//opaque]}, read
 * general to specific.
 *
 * <p>The name is the label sequence: {@code user@a.b} and {@code user@a/b} are equal and bind the
 * same thing; the separators are kept only so that an alias prints the way it was written. Labels
 * are case-insensitive and normalised to lower case. A version suffix ({@code report.v3}) may
 * follow the last {@code /} label; an opaque segment (a device hash) may follow {@code //} and is
 * resolved only inside the governing scope. The empty alias {@link #ROOT} names the root scope.
 *
 * <p>Limits: a label or opaque segment is at most {@value #MAX_LABEL_BYTES} bytes, an alias at most
 * {@value #MAX_ALIAS_BYTES} bytes and {@value #MAX_LABELS} labels.
 */
public final class Alias {
  public static final int MAX_LABEL_BYTES = 63;
  public static final int MAX_ALIAS_BYTES = 1024;
  public static final int MAX_LABELS = 64;

  public static final Alias ROOT = new Alias(List.of(), "", 0, null);

  private final List<String> labels;
  // separators.charAt(i) joins labels i and i+1: '@', '.' or '/'.
  private final String separators;
  private final int version;
  private final @Nullable String opaque;
  private final String text;

  private Alias(List<String> labels, String separators, int version, @Nullable String opaque) {
    this.labels = List.copyOf(labels);
    this.separators = separators;
    this.version = version;
    this.opaque = opaque;
    this.text = render();
  }

  /** Parses and normalises an alias; the error names the offending position. */
  public static Alias parse(String input) {
    return new Parser(input).parse();
  }

  /**
   * An alias from labels, printed in the default style: {@code tld@domain/index/...}. Each label is
   * validated as {@link #parse} would.
   */
  public static Alias of(List<String> labels) {
    if (labels.isEmpty()) {
      return ROOT;
    }
    StringBuilder seps = new StringBuilder();
    List<String> normalised = new ArrayList<>(labels.size());
    for (int i = 0; i < labels.size(); i++) {
      normalised.add(checkLabel(labels.get(i)));
      if (i > 0) {
        seps.append(i == 1 ? '@' : '/');
      }
    }
    checkCounts(normalised.size(), "labels");
    Alias a = new Alias(normalised, seps.toString(), 0, null);
    checkLength(a.text);
    return a;
  }

  public static Alias of(String... labels) {
    return of(List.of(labels));
  }

  public static Alias fromProto(org.anf.proto.v1.Alias proto) {
    return proto.getText().isEmpty() ? ROOT : parse(proto.getText());
  }

  public org.anf.proto.v1.Alias toProto() {
    return org.anf.proto.v1.Alias.newBuilder().setText(text).build();
  }

  public List<String> labels() {
    return labels;
  }

  public int size() {
    return labels.size();
  }

  public String label(int i) {
    return labels.get(i);
  }

  public boolean isRoot() {
    return labels.isEmpty() && opaque == null;
  }

  /** The version suffix ({@code .v3} gives 3), or 0 when there is none. */
  public int version() {
    return version;
  }

  public @Nullable String opaque() {
    return opaque;
  }

  public boolean hasOpaque() {
    return opaque != null;
  }

  /** The normalised text form. */
  public String text() {
    return text;
  }

  /** This alias without version and opaque segment: the bindable name. */
  public Alias base() {
    return version == 0 && opaque == null ? this : new Alias(labels, separators, 0, null);
  }

  /** True when this alias's labels are a prefix of (or equal to) the other's. */
  public boolean isPrefixOf(Alias other) {
    return labels.size() <= other.labels.size()
        && other.labels.subList(0, labels.size()).equals(labels);
  }

  /** The first {@code n} labels, keeping their separators. */
  public Alias prefix(int n) {
    if (n < 0 || n > labels.size()) {
      throw new IndexOutOfBoundsException("prefix " + n + " of " + labels.size() + " labels");
    }
    if (n == labels.size() && version == 0 && opaque == null) {
      return this;
    }
    return new Alias(labels.subList(0, n), separators.substring(0, Math.max(0, n - 1)), 0, null);
  }

  /** The labels after {@code scope}'s; fails when this alias is not under {@code scope}. */
  public List<String> relativeTo(Alias scope) {
    if (!scope.isPrefixOf(this)) {
      throw AnfException.invalid("alias", "'" + text + "' is not under scope '" + scope + "'");
    }
    return labels.subList(scope.labels.size(), labels.size());
  }

  /** This alias extended by {@code rest}, joined with '/' (or '@' after a top-level label). */
  public Alias concat(List<String> rest) {
    if (rest.isEmpty()) {
      return base();
    }
    List<String> all = new ArrayList<>(labels);
    StringBuilder seps = new StringBuilder(separators);
    for (String label : rest) {
      all.add(checkLabel(label));
      if (all.size() > 1) {
        seps.append(all.size() == 2 ? '@' : '/');
      }
    }
    checkCounts(all.size(), "labels");
    Alias a = new Alias(all, seps.toString(), 0, null);
    checkLength(a.text);
    return a;
  }

  /** This alias with the opaque segment set. */
  public Alias withOpaque(String segment) {
    String o = asciiLower(segment);
    if (o.isEmpty() || o.length() > MAX_LABEL_BYTES || !o.chars().allMatch(Alias::isOpaqueChar)) {
      throw AnfException.invalid(
          "opaque",
          "an opaque segment is 1 to 63 characters of a-z and 0-9, got '" + segment + "'");
    }
    Alias a = new Alias(labels, separators, version, o);
    checkLength(a.text);
    return a;
  }

  /** Labels joined by '/': the key of a relative path inside a scope's state. */
  public static String joinPath(List<String> labels) {
    return String.join("/", labels);
  }

  /** The inverse of {@link #joinPath}; the empty string gives no labels. */
  public static List<String> splitPath(String path) {
    return path.isEmpty() ? List.of() : List.of(path.split("/", -1));
  }

  private String render() {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < labels.size(); i++) {
      if (i > 0) {
        sb.append(separators.charAt(i - 1));
      }
      sb.append(labels.get(i));
    }
    if (version > 0) {
      sb.append(".v").append(version);
    }
    if (opaque != null) {
      sb.append("//").append(opaque);
    }
    return sb.toString();
  }

  @Override
  public boolean equals(@Nullable Object o) {
    return o instanceof Alias a
        && labels.equals(a.labels)
        && version == a.version
        && Objects.equals(opaque, a.opaque);
  }

  @Override
  public int hashCode() {
    return Objects.hash(labels, version, opaque);
  }

  @Override
  public String toString() {
    return text;
  }

  // Only ASCII folds: a non-ASCII letter that lower-cases to ASCII (the Kelvin sign) is refused.
  static char asciiLower(char c) {
    return c >= 'A' && c <= 'Z' ? (char) (c + ('a' - 'A')) : c;
  }

  static String asciiLower(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      sb.append(asciiLower(s.charAt(i)));
    }
    return sb.toString();
  }

  static boolean isLabelChar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }

  static boolean isOpaqueChar(int c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  }

  private static String checkLabel(String label) {
    String l = asciiLower(label);
    if (l.isEmpty()) {
      throw AnfException.invalid("label", "a label must not be empty");
    }
    if (l.length() > MAX_LABEL_BYTES) {
      throw AnfException.invalid(
          "label", "label '" + label + "' is longer than " + MAX_LABEL_BYTES + " bytes");
    }
    for (int i = 0; i < l.length(); i++) {
      if (!isLabelChar(l.charAt(i))) {
        throw AnfException.invalid(
            "label",
            "label '"
                + label
                + "' has '"
                + l.charAt(i)
                + "' at "
                + i
                + "; expected a-z, 0-9, '-' or '_'");
      }
    }
    return l;
  }

  private static void checkCounts(int n, String what) {
    if (n > MAX_LABELS) {
      throw AnfException.invalid("alias", "more than " + MAX_LABELS + " " + what);
    }
  }

  private static void checkLength(String text) {
    if (text.getBytes(StandardCharsets.UTF_8).length > MAX_ALIAS_BYTES) {
      throw AnfException.invalid("alias", "alias longer than " + MAX_ALIAS_BYTES + " bytes");
    }
  }

  /** Recursive-descent parser over the grammar in docs/ALIASES.md. */
  private static final class Parser {
    private final String in;
    private int pos;
    private final List<String> labels = new ArrayList<>();
    private final StringBuilder seps = new StringBuilder();
    private int version;
    private @Nullable String opaque;

    Parser(String in) {
      this.in = in;
    }

    Alias parse() {
      if (in.length() > MAX_ALIAS_BYTES) {
        throw AnfException.syntax(
            in, MAX_ALIAS_BYTES, "alias longer than " + MAX_ALIAS_BYTES + " bytes");
      }
      label("a top-level label");
      if (peek() == '@') {
        sep('@');
        label("a domain label after '@'");
        while (peek() == '.') {
          sep('.');
          label("a domain label after '.'");
        }
        while (peek() == '/' && peekAt(1) != '/') {
          sep('/');
          label("an index label after '/'");
        }
        if (peek() == '.' && !seps.isEmpty() && seps.charAt(seps.length() - 1) == '/') {
          versionSuffix();
        }
      }
      if (peek() == '/' && peekAt(1) == '/') {
        pos += 2;
        opaqueSegment();
      }
      if (pos < in.length()) {
        char c = in.charAt(pos);
        String expected;
        if (labels.size() == 1 && (c == '/' || c == '.')) {
          expected = "expected '@' after the top-level label, or '//' and an opaque segment";
        } else if (c == '.') {
          expected =
              "a '.' after an index label must start a version suffix '.v<digits>' on the last"
                  + " label";
        } else if (version > 0 && c == '/') {
          expected = "the version suffix must come last (only '//' and an opaque segment follow)";
        } else {
          expected = "unexpected '" + printable(c) + "'";
        }
        throw AnfException.syntax(in, pos, expected);
      }
      Alias alias = new Alias(labels, seps.toString(), version, opaque);
      if (alias.text.getBytes(StandardCharsets.UTF_8).length > MAX_ALIAS_BYTES) {
        throw AnfException.syntax(
            in, MAX_ALIAS_BYTES, "alias longer than " + MAX_ALIAS_BYTES + " bytes");
      }
      return alias;
    }

    private int peek() {
      return pos < in.length() ? in.charAt(pos) : -1;
    }

    private int peekAt(int ahead) {
      return pos + ahead < in.length() ? in.charAt(pos + ahead) : -1;
    }

    private void sep(char c) {
      seps.append(c);
      pos++;
    }

    private void label(String what) {
      int start = pos;
      StringBuilder sb = new StringBuilder();
      while (pos < in.length()) {
        char c = asciiLower(in.charAt(pos));
        if (!isLabelChar(c)) {
          break;
        }
        if (sb.length() == MAX_LABEL_BYTES) {
          throw AnfException.syntax(
              in,
              pos,
              "label longer than " + MAX_LABEL_BYTES + " bytes (it starts at " + start + ")");
        }
        sb.append(c);
        pos++;
      }
      if (sb.isEmpty()) {
        String found =
            pos < in.length() ? "found '" + printable(in.charAt(pos)) + "'" : "found the end";
        throw AnfException.syntax(
            in, pos, "expected " + what + " (a-z, 0-9, '-' or '_'), " + found);
      }
      if (labels.size() == MAX_LABELS) {
        throw AnfException.syntax(in, start, "more than " + MAX_LABELS + " labels");
      }
      labels.add(sb.toString());
    }

    private void versionSuffix() {
      pos++; // '.'
      if (peek() != 'v' && peek() != 'V') {
        throw AnfException.syntax(
            in, pos, "expected a version suffix '.v<digits>' after the last index label");
      }
      pos++;
      int digitsStart = pos;
      long v = 0;
      while (pos < in.length() && in.charAt(pos) >= '0' && in.charAt(pos) <= '9') {
        v = v * 10 + (in.charAt(pos) - '0');
        if (v > Integer.MAX_VALUE) {
          throw AnfException.syntax(in, digitsStart, "version number too large");
        }
        pos++;
      }
      if (pos == digitsStart) {
        throw AnfException.syntax(in, pos, "expected digits after '.v'");
      }
      if (in.charAt(digitsStart) == '0') {
        throw AnfException.syntax(
            in, digitsStart, "a version is a positive number without leading zeros");
      }
      version = (int) v;
      if (pos < in.length() && in.charAt(pos) != '/') {
        throw AnfException.syntax(in, pos, "the version suffix must end the alias");
      }
    }

    private void opaqueSegment() {
      int start = pos;
      StringBuilder sb = new StringBuilder();
      while (pos < in.length()) {
        char c = asciiLower(in.charAt(pos));
        if (!isOpaqueChar(c)) {
          break;
        }
        if (sb.length() == MAX_LABEL_BYTES) {
          throw AnfException.syntax(
              in, pos, "opaque segment longer than " + MAX_LABEL_BYTES + " bytes");
        }
        sb.append(c);
        pos++;
      }
      if (sb.isEmpty()) {
        String found =
            pos < in.length() ? "found '" + printable(in.charAt(pos)) + "'" : "found the end";
        throw AnfException.syntax(
            in, start, "expected an opaque segment (a-z, 0-9) after '//', " + found);
      }
      opaque = sb.toString();
    }

    private static String printable(char c) {
      return c < 0x20 || c == 0x7f ? String.format("\\u%04x", (int) c) : String.valueOf(c);
    }
  }
}
