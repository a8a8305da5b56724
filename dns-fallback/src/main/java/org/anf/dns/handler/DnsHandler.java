package org.anf.dns.handler;

import org.xbill.DNS.Message;
import org.xbill.DNS.Rcode;

/**
 * One link of the gateway's handler chain, in the CoreDNS model ({@code plugin.Handler}).
 *
 * <p>The contract between handlers and the server: a handler that writes a reply returns that
 * reply's rcode; a handler that returns {@link Rcode#SERVFAIL}, {@link Rcode#REFUSED}, {@link
 * Rcode#FORMERR} or {@link Rcode#NOTIMP} <em>without</em> writing leaves the reply to the server,
 * which sends an empty reply with that rcode. Any other rcode returned without a reply is a handler
 * bug, answered with SERVFAIL. A handler that does not serve a name passes the query to the next
 * handler itself, so fallthrough is always explicit; the order is fixed in {@link HandlerChain}.
 *
 * <p>The server guarantees that {@code query} is a QUERY with exactly one question. Handlers run
 * concurrently on the server's worker threads and must be thread-safe. An exception thrown by a
 * handler is answered with SERVFAIL and logged; it never stops the server.
 */
public interface DnsHandler {
  /** Short name for logs and errors, like a CoreDNS plugin name. */
  String name();

  int serve(Message query, DnsWriter writer);

  /** True for the rcodes that mean "nothing written yet" (the CoreDNS rule). */
  static boolean leavesReplyToServer(int rcode) {
    return rcode == Rcode.SERVFAIL
        || rcode == Rcode.REFUSED
        || rcode == Rcode.FORMERR
        || rcode == Rcode.NOTIMP;
  }
}
