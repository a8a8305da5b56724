package org.anf.resolver;

import java.util.List;

/**
 * What legacy DNS said about a name.
 *
 * @param outcome how it went
 * @param addresses A and AAAA addresses, as IP literals
 * @param txt TXT strings
 * @param zone the allowed zone the name fell under ("" when refused)
 * @param dnssecValidated whether the answer was DNSSEC-validated
 * @param ttlSeconds the smallest TTL of the answer
 * @param detail a human-readable note (why refused, which upstream failed)
 */
public record FallbackAnswer(
    Outcome outcome,
    List<String> addresses,
    List<String> txt,
    String zone,
    boolean dnssecValidated,
    int ttlSeconds,
    String detail) {

  public enum Outcome {
    /** The upstream answered with records. */
    ANSWERED,
    /** The upstream said the name does not exist (or has no A/AAAA/TXT). */
    NOT_FOUND,
    /** The name is outside every allowed zone: no query was sent. */
    REFUSED_BY_POLICY,
    /** DNSSEC validation was required and failed. */
    INSECURE,
    /** No upstream answered in time. */
    FAILED
  }

  public static FallbackAnswer refused(String detail) {
    return new FallbackAnswer(
        Outcome.REFUSED_BY_POLICY, List.of(), List.of(), "", false, 0, detail);
  }
}
