package org.anf.dns.gateway;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.anf.dns.handler.DnsHandler;
import org.anf.dns.handler.Replies;
import org.anf.dns.handler.ResponseRecorder;
import org.anf.dns.handler.Transport;
import org.anf.dns.handler.WouldBlock;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * From a packet to the reply bytes, around the handler chain: parsing and validating the query,
 * running the chain with every failure contained, then EDNS and truncation of the reply.
 *
 * <ul>
 *   <li>Fewer than 12 bytes (no header), or a header with QR set (a response: answering it could
 *       loop two servers), is dropped.
 *   <li>A header followed by anything that does not parse exactly (bad names, compression pointers
 *       that do not point back, counts that do not match the records, trailing bytes) gets FORMERR
 *       with no question and no OPT.
 *   <li>An opcode other than QUERY gets NOTIMP; a question count other than 1, an OPT record that
 *       is misplaced, repeated or not owned by the root, or a meta type (OPT, TKEY, TSIG) as qtype
 *       gets FORMERR; an EDNS version other than 0 gets BADVERS (RFC 6891).
 *   <li>A client with EDNS gets an OPT record back (payload size {@code maxUdpPayloadBytes}, DO
 *       copied, any Extended DNS Error from the handler); its UDP reply may be as large as its
 *       payload size, capped at {@code maxUdpPayloadBytes}; without EDNS the limit is 512 bytes.
 *       Over UDP a reply over the limit drops whole additional RRsets first, then sets TC and keeps
 *       only the answer RRsets that fit whole; over TCP the reply is complete.
 * </ul>
 */
final class QueryProcessor {
  private static final Logger log = LoggerFactory.getLogger(QueryProcessor.class);

  private final DnsHandler chain;
  private final int maxUdpPayloadBytes;
  private final GatewayMetrics metrics;

  QueryProcessor(DnsHandler chain, int maxUdpPayloadBytes, GatewayMetrics metrics) {
    this.chain = chain;
    this.maxUdpPayloadBytes = maxUdpPayloadBytes;
    this.metrics = metrics;
  }

  /**
   * The reply to send for {@code packet}, or null to send none. Never throws, but for {@link
   * WouldBlock} from a fast-path chain: the caller then processes the packet again on a thread that
   * may wait.
   */
  byte @Nullable [] process(byte[] packet, Transport transport) {
    return process(packet, transport, null);
  }

  /** What the caller of {@link #process} may want to know about the reply besides its bytes. */
  static final class Rendered {
    /**
     * The reply says its answer is stale (an Extended DNS Error Stale Answer or Stale NXDOMAIN).
     */
    boolean stale;
  }

  /** As {@link #process(byte[], Transport)}, telling {@code about} whether the reply is stale. */
  byte @Nullable [] process(byte[] packet, Transport transport, @Nullable Rendered about) {
    if (about != null) {
      about.stale = false;
    }
    long start = System.nanoTime();
    if (packet.length < Header.LENGTH) {
      metrics.dropped(transport, "short");
      return null;
    }
    Header header;
    try {
      header = new Header(packet);
    } catch (IOException e) {
      metrics.dropped(transport, "short");
      return null;
    }
    if (header.getFlag(Flags.QR)) {
      metrics.dropped(transport, "response");
      return null;
    }
    Message query = parse(packet);
    byte[] wire;
    int rcode;
    try {
      Message reply = query == null ? bare(header, Rcode.FORMERR) : answer(query, transport);
      wire = render(reply, query, transport, about);
      rcode = reply.getRcode();
    } catch (WouldBlock e) {
      throw e;
    } catch (RuntimeException | StackOverflowError | AssertionError | LinkageError e) {
      log.warn(
          "dns: could not build a reply for query id {}; answering SERVFAIL", header.getID(), e);
      rcode = Rcode.SERVFAIL;
      wire = bare(header, Rcode.SERVFAIL).toWire();
    }
    metrics.answered(transport, rcode, System.nanoTime() - start);
    return wire;
  }

  /** The query, or null when the bytes are not exactly one well-formed DNS message. */
  static @Nullable Message parse(byte[] packet) {
    try {
      Message m = new Message(packet);
      if (m.numBytes() != packet.length) {
        return null;
      }
      // dnsjava keeps what it could read of a message with TC set; a query must be whole.
      for (int s = Section.QUESTION; s <= Section.ADDITIONAL; s++) {
        if (m.getSection(s).size() != m.getHeader().getCount(s)) {
          return null;
        }
      }
      return m;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private Message answer(Message query, Transport transport) {
    Header h = query.getHeader();
    if (h.getOpcode() != Opcode.QUERY) {
      return Replies.to(query, Rcode.NOTIMP);
    }
    if (query.getSection(Section.QUESTION).size() != 1 || badOpt(query) || metaType(query)) {
      return bare(h, Rcode.FORMERR);
    }
    OPTRecord opt = query.getOPT();
    if (opt != null && opt.getVersion() != 0) {
      Message reply = Replies.to(query, Rcode.NOERROR);
      reply.addRecord(new OPTRecord(0, Rcode.BADVERS >>> 4, 0), Section.ADDITIONAL);
      return reply;
    }
    return serve(query, transport);
  }

  /** Runs the chain; a handler failure or a broken contract is SERVFAIL, logged. */
  private Message serve(Message query, Transport transport) {
    ResponseRecorder writer = new ResponseRecorder(transport);
    int rcode;
    try {
      rcode = chain.serve(query, writer);
    } catch (WouldBlock e) {
      throw e;
    } catch (RuntimeException | StackOverflowError | AssertionError | LinkageError e) {
      log.warn("dns: handler failed for {}; answering SERVFAIL", describe(query), e);
      return Replies.to(query, Rcode.SERVFAIL);
    }
    Message reply = writer.reply();
    if (reply != null) {
      return reply;
    }
    if (DnsHandler.leavesReplyToServer(rcode)) {
      return Replies.to(query, rcode);
    }
    log.warn(
        "dns: handler chain returned {} for {} without writing a reply; answering SERVFAIL",
        Rcode.string(rcode),
        describe(query));
    return Replies.to(query, Rcode.SERVFAIL);
  }

  /** The reply bytes: EDNS for EDNS clients, truncated to what the transport allows. */
  private byte[] render(
      Message reply, @Nullable Message query, Transport transport, @Nullable Rendered about) {
    int rcode = reply.getRcode();
    OPTRecord handlerOpt = reply.getOPT();
    List<EDNSOption> options = handlerOpt == null ? List.of() : handlerOpt.getOptions();
    if (about != null) {
      // Read from the handler's options: a client without EDNS does not get them sent.
      for (EDNSOption o : options) {
        if (o instanceof ExtendedErrorCodeOption ede
            && (ede.getErrorCode() == ExtendedErrorCodeOption.STALE_ANSWER
                || ede.getErrorCode() == ExtendedErrorCodeOption.STALE_NXDOMAIN_ANSWER)) {
          about.stale = true;
        }
      }
    }
    for (Record r : new ArrayList<>(reply.getSection(Section.ADDITIONAL))) {
      if (r.getType() == Type.OPT) {
        reply.removeRecord(r, Section.ADDITIONAL);
      }
    }
    OPTRecord clientOpt = query == null ? null : query.getOPT();
    if (clientOpt != null) {
      int flags = clientOpt.getFlags() & ExtendedFlags.DO;
      reply.addRecord(
          new OPTRecord(maxUdpPayloadBytes, rcode >>> 4, 0, flags, options), Section.ADDITIONAL);
      reply.getHeader().setRcode(rcode & 0xF);
    } else {
      // An extended rcode cannot be said without EDNS.
      reply.getHeader().setRcode(rcode > 0xF ? Rcode.SERVFAIL : rcode);
    }
    return reply.toWire(limit(clientOpt, transport));
  }

  private int limit(@Nullable OPTRecord clientOpt, Transport transport) {
    if (transport == Transport.TCP) {
      return Message.MAXLENGTH;
    }
    if (clientOpt == null) {
      return GatewayConfig.CLASSIC_UDP_PAYLOAD_BYTES;
    }
    return Math.max(
        GatewayConfig.CLASSIC_UDP_PAYLOAD_BYTES,
        Math.min(clientOpt.getPayloadSize(), maxUdpPayloadBytes));
  }

  // RFC 6891: at most one OPT, in the additional section, owned by the root.
  private static boolean badOpt(Message query) {
    for (int s : new int[] {Section.ANSWER, Section.AUTHORITY}) {
      for (Record r : query.getSection(s)) {
        if (r.getType() == Type.OPT) {
          return true;
        }
      }
    }
    int opts = 0;
    for (Record r : query.getSection(Section.ADDITIONAL)) {
      if (r.getType() == Type.OPT) {
        opts++;
        if (opts > 1 || !r.getName().equals(Name.root)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean metaType(Message query) {
    int t = query.getQuestion().getType();
    return t == Type.OPT || t == Type.TKEY || t == Type.TSIG;
  }

  /** A reply with only a header: for a query whose question cannot be trusted. */
  static Message bare(Header query, int rcode) {
    Message reply = new Message(query.getID());
    Header h = reply.getHeader();
    h.setOpcode(query.getOpcode());
    h.setFlag(Flags.QR);
    if (query.getFlag(Flags.RD)) {
      h.setFlag(Flags.RD);
    }
    h.setRcode(rcode);
    return reply;
  }

  private static String describe(Message query) {
    Record q = query.getQuestion();
    return q.getName() + "/" + Type.string(q.getType());
  }
}
