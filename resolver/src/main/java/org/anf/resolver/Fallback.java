package org.anf.resolver;

/**
 * Legacy DNS, asked when the fabric has no answer. An implementation consults only zones its policy
 * allows, refusing others before any DNS query is sent, and never takes over the host's resolver.
 * It logs the one line per fallback (name, zone, outcome, upstream); the resolver counts it in
 * {@code anf.resolver.fallbacks} and logs nothing more.
 */
public interface Fallback {
  /**
   * Resolves a legacy DNS name (absolute, e.g. {@code "example.org."}) for A, AAAA and TXT. Never
   * throws for DNS outcomes: a refusal, NXDOMAIN or a failed upstream is an answer.
   */
  FallbackAnswer resolve(String dnsName);
}
