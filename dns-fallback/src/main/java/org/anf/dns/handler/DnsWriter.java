package org.anf.dns.handler;

import org.xbill.DNS.Message;

/**
 * Where a handler writes its reply, at most one per query. A handler starts from {@link Replies#to}
 * (ID, question, flags) and adds its records; the server adds the OPT record for EDNS clients and
 * truncates to what the transport allows when it sends the reply.
 */
public interface DnsWriter {
  Transport transport();

  /**
   * Records the reply.
   *
   * @throws IllegalStateException when a reply was written already
   */
  void write(Message reply);

  boolean written();
}
