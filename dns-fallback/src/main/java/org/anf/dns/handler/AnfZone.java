package org.anf.dns.handler;

import org.anf.lineage.alias.DnsNames;
import org.anf.lineage.error.AnfException;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.TextParseException;

/**
 * The zone the gateway answers for with authority, and its synthesised SOA.
 *
 * <p>The SOA exists so that negative answers can be cached (RFC 2308): its TTL and MINIMUM are both
 * the negative TTL of the answer it comes with. The serial is always 1 because the zone is
 * synthesised per query from the fabric and is never transferred.
 *
 * @param origin the zone apex, absolute and lower case ({@code anf.} by default)
 * @param negativeTtlSeconds the negative TTL for names that can never exist under the zone (not
 *     alias syntax) and for the apex, where no lookup result gives one
 */
public record AnfZone(Name origin, int negativeTtlSeconds) {
  public static final String DEFAULT_ZONE = "anf.";
  public static final int DEFAULT_NEGATIVE_TTL_SECONDS = 5;

  private static final long REFRESH_SECONDS = 3600;
  private static final long RETRY_SECONDS = 600;
  private static final long EXPIRE_SECONDS = 86_400;

  public AnfZone {
    if (!origin.isAbsolute() || origin.equals(Name.root)) {
      throw AnfException.invalid("zone", "the anf zone must be an absolute name below the root");
    }
    if (negativeTtlSeconds < 0) {
      throw AnfException.invalid(
          "negativeTtlSeconds", "must not be negative, got " + negativeTtlSeconds);
    }
  }

  /** The zone from its text form ("anf" or "anf."), normalised as {@link DnsNames#zone} does. */
  public static AnfZone of(String zone, int negativeTtlSeconds) {
    String z = DnsNames.zone(zone);
    try {
      return new AnfZone(Name.fromString(z), negativeTtlSeconds);
    } catch (TextParseException e) {
      throw AnfException.invalid("zone", "'" + zone + "' is not a DNS name: " + e.getMessage());
    }
  }

  /** The zone as {@link DnsNames} expects it: lower case with the trailing dot. */
  public String text() {
    return origin.toString().toLowerCase(java.util.Locale.ROOT);
  }

  public boolean contains(Name name) {
    return name.subdomain(origin);
  }

  /** The zone's SOA with {@code ttlSeconds} as both its TTL and its MINIMUM field. */
  public SOARecord soa(long ttlSeconds) {
    return new SOARecord(
        origin,
        DClass.IN,
        ttlSeconds,
        child("ns"),
        child("hostmaster"),
        1,
        REFRESH_SECONDS,
        RETRY_SECONDS,
        EXPIRE_SECONDS,
        ttlSeconds);
  }

  // A name right below the apex; a zone too long for it uses the apex itself.
  private Name child(String label) {
    try {
      return Name.fromString(label, origin);
    } catch (TextParseException e) {
      return origin;
    }
  }
}
