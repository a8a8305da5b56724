package org.anf.dns.handler;

import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Record;

/**
 * Relays queries for names in the forwarder's allowed zones to legacy DNS; passes every other name
 * to the next handler without sending anything.
 */
public final class ForwardHandler implements DnsHandler {
  private final Forwarder forwarder;
  private final DnsHandler next;

  public ForwardHandler(Forwarder forwarder, DnsHandler next) {
    this.forwarder = forwarder;
    this.next = next;
  }

  @Override
  public String name() {
    return "forward";
  }

  @Override
  public int serve(Message query, DnsWriter writer) {
    Record q = query.getQuestion();
    // Only the Internet class is forwarded: CHAOS and the rest are local matters.
    if (q.getDClass() != DClass.IN || !forwarder.allows(q.getName())) {
      return next.serve(query, writer);
    }
    Message reply = forwarder.forward(query);
    writer.write(reply);
    return reply.getRcode();
  }
}
