package org.anf.dns.handler;

/** How a query arrived; replies over UDP are limited in size, over TCP they are complete. */
public enum Transport {
  UDP,
  TCP;

  /** Lower-case name for metric tags and logs. */
  public String tag() {
    return this == UDP ? "udp" : "tcp";
  }
}
