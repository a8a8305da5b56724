package org.anf.lineage.alias;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.anf.lineage.error.AnfException;
import org.jspecify.annotations.Nullable;

/**
 * The DNS form of an alias: labels reversed, joined by dots, under a zone. {@code
 * user@elizabeth/iot/thermostat} is {@code thermostat.iot.elizabeth.user.anf.} in zone {@code
 * anf.}. Version suffixes and opaque segments have no DNS form: opaque segments are never served
 * over DNS.
 */
public final class DnsNames {
  private DnsNames() {}

  /** Normalises a zone to lower case with a trailing dot ("anf" gives "anf."). */
  public static String zone(String zone) {
    String z = Alias.asciiLower(zone.trim());
    if (z.isEmpty() || z.equals(".")) {
      throw AnfException.invalid("zone", "the DNS zone must not be the root");
    }
    return z.endsWith(".") ? z : z + ".";
  }

  public static String toDns(Alias alias, String zone) {
    if (alias.hasOpaque()) {
      throw AnfException.invalid(
          "alias",
          "'" + alias + "' has an opaque segment; opaque segments are never served over DNS");
    }
    if (alias.version() > 0) {
      throw AnfException.invalid(
          "alias", "'" + alias + "' has a version suffix, which has no DNS form");
    }
    if (alias.isRoot()) {
      return zone(zone);
    }
    List<String> rev = new ArrayList<>(alias.labels());
    Collections.reverse(rev);
    return String.join(".", rev) + "." + zone(zone);
  }

  /**
   * The alias for a DNS name, or null when the name is not under {@code zone} (then the gateway
   * refuses it or falls back). A name under the zone whose labels are not alias labels is a syntax
   * error naming the position in the DNS name.
   */
  public static @Nullable Alias fromDns(String name, String zone) {
    String z = zone(zone);
    String n = Alias.asciiLower(name.endsWith(".") ? name : name + ".");
    if (!n.equals(z) && !n.endsWith("." + z)) {
      return null;
    }
    if (n.equals(z)) {
      return Alias.ROOT;
    }
    String body = n.substring(0, n.length() - z.length() - 1);
    String[] parts = body.split("\\.", -1);
    int pos = 0;
    for (String p : parts) {
      if (p.isEmpty()) {
        throw AnfException.syntax(name, pos, "empty DNS label");
      }
      for (int i = 0; i < p.length(); i++) {
        if (!Alias.isLabelChar(p.charAt(i))) {
          throw AnfException.syntax(
              name,
              pos + i,
              "'" + p.charAt(i) + "' is not an alias label character (a-z, 0-9, '-', '_')");
        }
      }
      if (p.length() > Alias.MAX_LABEL_BYTES) {
        throw AnfException.syntax(
            name, pos, "label longer than " + Alias.MAX_LABEL_BYTES + " bytes");
      }
      pos += p.length() + 1;
    }
    List<String> labels = new ArrayList<>(List.of(parts));
    Collections.reverse(labels);
    return Alias.of(labels);
  }
}
