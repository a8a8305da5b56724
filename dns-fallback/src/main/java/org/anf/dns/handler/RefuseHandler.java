package org.anf.dns.handler;

import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/** The end of the chain: whatever no handler served is refused (the server writes the reply). */
public final class RefuseHandler implements DnsHandler {
  @Override
  public String name() {
    return "refuse";
  }

  @Override
  public int serve(Message query, DnsWriter writer) {
    return Rcode.REFUSED;
  }
}
