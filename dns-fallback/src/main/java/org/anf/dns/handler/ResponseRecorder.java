package org.anf.dns.handler;

import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Message;

/** A {@link DnsWriter} that keeps the reply for the server (or a test) to read back. */
public final class ResponseRecorder implements DnsWriter {
  private final Transport transport;
  private @Nullable Message reply;

  public ResponseRecorder(Transport transport) {
    this.transport = transport;
  }

  @Override
  public Transport transport() {
    return transport;
  }

  @Override
  public void write(Message reply) {
    if (this.reply != null) {
      throw new IllegalStateException("a reply was written already for this query");
    }
    this.reply = reply;
  }

  @Override
  public boolean written() {
    return reply != null;
  }

  /** The reply written, or null when none was. */
  public @Nullable Message reply() {
    return reply;
  }
}
