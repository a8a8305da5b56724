package org.anf.resolver;

/**
 * Legacy DNS, asked when the fabric has no answer. An implementation consults only zones its policy
 * allows, refusing others before any DNS query is sent, and never takes over the host's resolver.
 */
public interface Fallback {
  /**
   * Resolves a legacy DNS name (absolute, e.g. {@code "example.org."}) for A, AAAA and TXT. Never
   * throws for DNS outcomes: a refusal, NXDOMAIN or a failed upstream is an answer.
   */
  FallbackAnswer resolve(String dnsName);
}
