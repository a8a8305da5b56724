package org.anf.dns.handler;

import org.xbill.DNS.Message;
import org.xbill.DNS.Name;

/** Legacy DNS forwarding for names outside the anf zone (implemented by the DNS fallback). */
public interface Forwarder {
  /** True when queries for {@code name} may be forwarded; no packet is ever sent for others. */
  boolean allows(Name name);

  /**
   * Forwards a query upstream and returns the reply to relay. Never throws: a name outside the
   * allowed zones gets REFUSED without any packet sent, an upstream failure gets SERVFAIL.
   */
  Message forward(Message query);
}
