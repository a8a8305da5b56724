package org.anf.dns.handler;

import java.util.ArrayList;
import java.util.List;
import org.xbill.DNS.EDNSOption;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;

/** Building replies: the skeleton every reply shares, and Extended DNS Errors. */
public final class Replies {
  /** EDE texts are kept short: they travel in every such reply. */
  private static final int MAX_EDE_TEXT = 200;

  private Replies() {}

  /** A reply to {@code query}: same ID, opcode, question, RD and CD; QR set; the given rcode. */
  public static Message to(Message query, int rcode) {
    Header qh = query.getHeader();
    Message reply = new Message(qh.getID());
    Header h = reply.getHeader();
    h.setOpcode(qh.getOpcode());
    h.setFlag(Flags.QR);
    copyFlag(qh, h, Flags.RD);
    copyFlag(qh, h, Flags.CD);
    h.setRcode(rcode);
    for (Record q : query.getSection(Section.QUESTION)) {
      reply.addRecord(q, Section.QUESTION);
    }
    return reply;
  }

  /**
   * Adds an Extended DNS Error (RFC 8914) saying why. The server keeps it only when the client sent
   * EDNS, and then merges it into the reply's own OPT record.
   */
  public static void addExtendedError(Message reply, int code, String text) {
    String t = text.length() <= MAX_EDE_TEXT ? text : text.substring(0, MAX_EDE_TEXT - 3) + "...";
    List<EDNSOption> options = new ArrayList<>();
    OPTRecord had = reply.getOPT();
    if (had != null) {
      // One OPT per message (RFC 6891): a second error joins the first one's record.
      options.addAll(had.getOptions());
      reply.removeRecord(had, Section.ADDITIONAL);
    }
    options.add(new ExtendedErrorCodeOption(code, ascii(t)));
    reply.addRecord(new OPTRecord(0, 0, 0, 0, options), Section.ADDITIONAL);
  }

  private static void copyFlag(Header from, Header to, int flag) {
    if (from.getFlag(flag)) {
      to.setFlag(flag);
    }
  }

  // EDE extra text is UTF-8 on the wire, but keep it printable ASCII so no client chokes on it.
  private static String ascii(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      sb.append(c >= 0x20 && c < 0x7f ? c : '?');
    }
    return sb.toString();
  }
}
