package org.anf.dns.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.InetAddress;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.BiFunction;
import org.anf.dns.handler.DnsHandler;
import org.anf.dns.handler.DnsWriter;
import org.anf.dns.handler.Replies;
import org.anf.dns.handler.Transport;
import org.anf.dns.testing.DnsClient;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.ExtendedFlags;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** Packet in, reply bytes out: parsing, validation, the handler contract, EDNS and truncation. */
class QueryProcessorTest {
  static final Name NAME = Name.fromConstantString("hello.demo.svc.anf.");

  static DnsHandler handler(BiFunction<Message, DnsWriter, Integer> serve) {
    return new DnsHandler() {
      @Override
      public String name() {
        return "test";
      }

      @Override
      public int serve(Message query, DnsWriter writer) {
        return serve.apply(query, writer);
      }
    };
  }

  /** Answers every query with {@code n} A records and {@code m} TXT records of 100 bytes. */
  static DnsHandler answering(int n, int m, int additional) {
    return handler(
        (q, w) -> {
          Message r = Replies.to(q, Rcode.NOERROR);
          for (int i = 0; i < n; i++) {
            r.addRecord(a(NAME, i), Section.ANSWER);
          }
          for (int i = 0; i < m; i++) {
            r.addRecord(new TXTRecord(NAME, DClass.IN, 60, i + "x".repeat(100)), Section.ANSWER);
          }
          Name other = Name.fromConstantString("glue.anf.");
          for (int i = 0; i < additional; i++) {
            r.addRecord(a(other, i), Section.ADDITIONAL);
          }
          w.write(r);
          return Rcode.NOERROR;
        });
  }

  static Record a(Name name, int i) {
    try {
      return new ARecord(
          name,
          DClass.IN,
          60,
          InetAddress.getByAddress(new byte[] {10, 0, (byte) (i / 256), (byte) i}));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static QueryProcessor processor(DnsHandler h) {
    return new QueryProcessor(h, 4096, new GatewayMetrics(new SimpleMeterRegistry()));
  }

  static Message run(DnsHandler h, byte[] packet, Transport t) throws IOException {
    byte[] reply = processor(h).process(packet, t);
    return new Message(Objects.requireNonNull(reply, "no reply"));
  }

  static Message query(int ednsPayload) {
    Message q = DnsClient.query(NAME.toString(), Type.A);
    if (ednsPayload > 0) {
      q.addRecord(new OPTRecord(ednsPayload, 0, 0), Section.ADDITIONAL);
    }
    return q;
  }

  static final DnsHandler NEVER =
      handler(
          (q, w) -> {
            throw new AssertionError("the handler must not be reached");
          });

  @Test
  void aStaleAnswerIsToldToTheCallerWhetherOrNotTheClientSeesTheMark() throws IOException {
    DnsHandler stale =
        handler(
            (q, w) -> {
              Message r = Replies.to(q, Rcode.NOERROR);
              r.addRecord(a(NAME, 1), Section.ANSWER);
              Replies.addExtendedError(r, ExtendedErrorCodeOption.STALE_ANSWER, "stale");
              w.write(r);
              return Rcode.NOERROR;
            });
    QueryProcessor p = processor(stale);
    QueryProcessor.Rendered about = new QueryProcessor.Rendered();
    byte[] plain = Objects.requireNonNull(p.process(query(0).toWire(), Transport.UDP, about));
    assertThat(about.stale).isTrue();
    assertThat(new Message(plain).getOPT()).as("no EDNS, no OPT").isNull();
    byte[] edns = Objects.requireNonNull(p.process(query(1232).toWire(), Transport.UDP, about));
    assertThat(about.stale).isTrue();
    assertThat(Objects.requireNonNull(new Message(edns).getOPT()).getOptions()).hasSize(1);
    var unused = processor(answering(1, 0, 0)).process(query(1232).toWire(), Transport.UDP, about);
    assertThat(about.stale).isFalse();
  }

  @Test
  void packetsWithoutAHeaderAndResponsesAreDropped() {
    QueryProcessor p = processor(NEVER);
    assertThat(p.process(new byte[0], Transport.UDP)).isNull();
    assertThat(p.process(new byte[11], Transport.TCP)).isNull();
    Message response = query(0);
    response.getHeader().setFlag(Flags.QR);
    assertThat(p.process(response.toWire(), Transport.UDP)).isNull();
  }

  @Test
  void anythingThatIsNotExactlyOneMessageIsFormerrWithTheIdAndNoQuestion() throws IOException {
    byte[] good = query(0).toWire();
    int id = query(0).getHeader().getID();
    byte[] trailing = Arrays.copyOf(good, good.length + 1);
    byte[] cut = Arrays.copyOf(good, good.length - 2);
    byte[] forwardPointer = good.clone();
    forwardPointer[12] = (byte) 0xC0;
    forwardPointer[13] = (byte) 0x20;
    byte[] selfPointer = good.clone();
    selfPointer[12] = (byte) 0xC0;
    selfPointer[13] = (byte) 0x0C;
    byte[] truncatedWithTc = cut.clone();
    truncatedWithTc[2] |= 0x02; // TC: dnsjava keeps what it read of such a message
    for (byte[] bad : List.of(trailing, cut, forwardPointer, selfPointer, truncatedWithTc)) {
      bad[0] = (byte) (id >>> 8);
      bad[1] = (byte) id;
      Message r = run(NEVER, bad, Transport.UDP);
      assertThat(r.getRcode()).isEqualTo(Rcode.FORMERR);
      assertThat(r.getHeader().getID()).isEqualTo(id);
      assertThat(r.getSection(Section.QUESTION)).isEmpty();
      assertThat(r.getOPT()).isNull();
    }
  }

  @Test
  void onlyQueryIsImplemented() throws IOException {
    for (int opcode : new int[] {Opcode.IQUERY, Opcode.STATUS, Opcode.NOTIFY, Opcode.UPDATE, 15}) {
      Message q = query(0);
      q.getHeader().setOpcode(opcode);
      Message r = run(NEVER, q.toWire(), Transport.UDP);
      assertThat(r.getRcode()).isEqualTo(Rcode.NOTIMP);
      assertThat(r.getHeader().getOpcode()).isEqualTo(opcode);
    }
  }

  @Test
  void exactlyOneQuestionAndAWellFormedOptAreRequired() throws IOException {
    Message none = new Message();
    Message two = query(0);
    two.addRecord(Record.newRecord(NAME, Type.AAAA, DClass.IN), Section.QUESTION);
    Message twoOpts = query(1232);
    twoOpts.addRecord(new OPTRecord(512, 0, 0), Section.ADDITIONAL);
    Message optInAnswer = query(0);
    optInAnswer.addRecord(new OPTRecord(1232, 0, 0), Section.ANSWER);
    Message optType = DnsClient.query(NAME.toString(), Type.OPT);
    for (Message q : List.of(none, two, twoOpts, optInAnswer, optType)) {
      assertThat(run(NEVER, q.toWire(), Transport.UDP).getRcode())
          .as("%s", q)
          .isEqualTo(Rcode.FORMERR);
    }
  }

  @Test
  void ednsVersionOtherThanZeroIsBadvers() throws IOException {
    Message q = query(0);
    q.addRecord(new OPTRecord(1232, 0, 1), Section.ADDITIONAL);
    Message r = run(NEVER, q.toWire(), Transport.UDP);
    assertThat(r.getRcode()).isEqualTo(Rcode.BADVERS);
    assertThat(Objects.requireNonNull(r.getOPT()).getVersion()).isZero();
  }

  @Test
  void aThrowingHandlerIsServfail() throws IOException {
    DnsHandler boom =
        handler(
            (q, w) -> {
              throw new IllegalStateException("injected");
            });
    DnsHandler deep =
        handler(
            (q, w) -> {
              throw new StackOverflowError("injected");
            });
    for (DnsHandler h : List.of(boom, deep)) {
      Message r = run(h, query(0).toWire(), Transport.UDP);
      assertThat(r.getRcode()).isEqualTo(Rcode.SERVFAIL);
      assertThat(r.getQuestion().getName()).isEqualTo(NAME);
    }
  }

  @Test
  void theNothingWrittenRcodesAreAnsweredByTheServerAndOthersAreABug() throws IOException {
    for (int rcode : new int[] {Rcode.SERVFAIL, Rcode.REFUSED, Rcode.FORMERR, Rcode.NOTIMP}) {
      Message r = run(handler((q, w) -> rcode), query(0).toWire(), Transport.UDP);
      assertThat(r.getRcode()).isEqualTo(rcode);
      assertThat(r.getSection(Section.QUESTION)).hasSize(1);
    }
    for (int rcode : new int[] {Rcode.NOERROR, Rcode.NXDOMAIN}) {
      assertThat(run(handler((q, w) -> rcode), query(0).toWire(), Transport.UDP).getRcode())
          .isEqualTo(Rcode.SERVFAIL);
    }
    // A reply that was written wins over the rcode returned.
    DnsHandler wrote =
        handler(
            (q, w) -> {
              w.write(Replies.to(q, Rcode.NXDOMAIN));
              return Rcode.REFUSED;
            });
    assertThat(run(wrote, query(0).toWire(), Transport.UDP).getRcode()).isEqualTo(Rcode.NXDOMAIN);
  }

  @Test
  void udpWithoutEdnsIsLimitedTo512BytesWithoutPartialRrsets() throws IOException {
    byte[] wire =
        Objects.requireNonNull(
            processor(answering(20, 10, 0)).process(query(0).toWire(), Transport.UDP));
    assertThat(wire.length).isLessThanOrEqualTo(512);
    Message r = new Message(wire);
    assertThat(r.getHeader().getFlag(Flags.TC)).isTrue();
    assertThat(r.getSection(Section.ANSWER))
        .as("the A RRset whole, the TXT RRset not at all")
        .hasSize(20);
    Message tcp = run(answering(20, 10, 0), query(0).toWire(), Transport.TCP);
    assertThat(tcp.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(tcp.getSection(Section.ANSWER)).hasSize(30);
  }

  @Test
  void additionalRecordsAreDroppedBeforeTheAnswerIsTruncated() throws IOException {
    Message r = run(answering(3, 0, 60), query(0).toWire(), Transport.UDP);
    assertThat(r.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(r.getSection(Section.ANSWER)).hasSize(3);
    assertThat(r.getSection(Section.ADDITIONAL)).isEmpty();
  }

  @Test
  void theClientsPayloadSizeIsHonouredBetween512AndTheCap() throws IOException {
    // 30 TXT records of ~115 bytes: about 3,500 bytes.
    DnsHandler big = answering(0, 30, 0);
    assertThat(run(big, query(100).toWire(), Transport.UDP).getHeader().getFlag(Flags.TC)).isTrue();
    assertThat(run(big, query(2048).toWire(), Transport.UDP).getHeader().getFlag(Flags.TC))
        .isTrue();
    Message capped = run(big, query(65000).toWire(), Transport.UDP);
    assertThat(capped.getHeader().getFlag(Flags.TC)).isFalse();
    assertThat(Objects.requireNonNull(capped.getOPT()).getPayloadSize()).isEqualTo(4096);
    DnsHandler huge = answering(0, 40, 0);
    byte[] wire =
        Objects.requireNonNull(processor(huge).process(query(65000).toWire(), Transport.UDP));
    assertThat(wire.length).isLessThanOrEqualTo(4096);
  }

  @Test
  void theDoBitIsCopiedAndExtendedErrorsTravelOnlyWithEdns() throws IOException {
    DnsHandler explaining =
        handler(
            (q, w) -> {
              Message r = Replies.to(q, Rcode.NXDOMAIN);
              Replies.addExtendedError(r, ExtendedErrorCodeOption.OTHER, "why not");
              w.write(r);
              return Rcode.NXDOMAIN;
            });
    Message q = query(0);
    q.addRecord(new OPTRecord(1232, 0, 0, ExtendedFlags.DO), Section.ADDITIONAL);
    Message withEdns = run(explaining, q.toWire(), Transport.UDP);
    OPTRecord opt = Objects.requireNonNull(withEdns.getOPT());
    assertThat(opt.getFlags() & ExtendedFlags.DO).isEqualTo(ExtendedFlags.DO);
    assertThat(((ExtendedErrorCodeOption) opt.getOptions().get(0)).getText()).isEqualTo("why not");
    assertThat(withEdns.getSection(Section.ADDITIONAL)).hasSize(1);
    Message without = run(explaining, query(0).toWire(), Transport.UDP);
    assertThat(without.getOPT()).isNull();
    assertThat(without.getRcode()).isEqualTo(Rcode.NXDOMAIN);
  }

  @Test
  void anExtendedRcodeWithoutEdnsBecomesServfail() throws IOException {
    DnsHandler badvers =
        handler(
            (q, w) -> {
              Message r = Replies.to(q, Rcode.NOERROR);
              r.addRecord(new OPTRecord(0, 1, 0), Section.ADDITIONAL);
              w.write(r);
              return Rcode.BADVERS;
            });
    assertThat(run(badvers, query(0).toWire(), Transport.UDP).getRcode()).isEqualTo(Rcode.SERVFAIL);
  }
}
