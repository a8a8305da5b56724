package org.anf.dns.handler;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Objects;
import org.anf.dns.testing.DnsClient;
import org.anf.dns.testing.TestFabric;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.proto.v1.Freshness;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * The anf handler alone, with a recording writer (CoreDNS's unit-test style). Answers come from a
 * real in-memory fabric; the few results a healthy fabric never gives (stale, a final DELEGATED, an
 * opaque canonical alias) come from resolvers that inject exactly that fault.
 */
class AnfZoneHandlerTest {
  static final AnfZone ZONE = AnfZone.of("anf", 5);

  static AnfZoneHandler handler(NameResolver resolver) {
    return new AnfZoneHandler(ZONE, resolver, ResolveOptions.DEFAULT, new RefuseHandler());
  }

  static ResponseRecorder serve(DnsHandler h, String name, int type) {
    ResponseRecorder w = new ResponseRecorder(Transport.UDP);
    int rcode = h.serve(DnsClient.query(name, type), w);
    Message reply = w.reply();
    if (reply != null) {
      assertThat(reply.getRcode()).as("returned rcode matches the reply").isEqualTo(rcode);
    } else {
      assertThat(DnsHandler.leavesReplyToServer(rcode)).as("rcode %s unwritten", rcode).isTrue();
    }
    return w;
  }

  static Message reply(ResponseRecorder w) {
    return Objects.requireNonNull(w.reply(), "no reply written");
  }

  /** A resolver that answers every name with {@code result} (a fault the fabric cannot make). */
  static NameResolver always(LookupResult result) {
    return (name, options) -> result;
  }

  @Test
  void namesOutsideTheZoneGoToTheNextHandler() {
    TestFabric f = new TestFabric(1);
    ResponseRecorder w = serve(handler(f.resolver), "example.org.", Type.A);
    assertThat(w.written()).isFalse();
    // A label that merely ends in the zone's text is not under the zone.
    assertThat(serve(handler(f.resolver), "xanf.", Type.A).written()).isFalse();
  }

  @Test
  void answersAreAuthoritativeAndEchoTheQuestion() {
    TestFabric f = new TestFabric(1);
    f.bind(f.svc, "svc@demo/hello", ep("192.0.2.10", 80));
    Message r = reply(serve(handler(f.resolver), "hello.demo.svc.anf.", Type.A));
    assertThat(r.getHeader().getFlag(Flags.AA)).isTrue();
    assertThat(r.getHeader().getFlag(Flags.QR)).isTrue();
    assertThat(r.getQuestion().getName()).isEqualTo(Name.fromConstantString("hello.demo.svc.anf."));
  }

  @Test
  void anotherZoneMapsTheSameWay() {
    TestFabric f = new TestFabric(1);
    f.bind(f.svc, "svc@demo/hello", ep("192.0.2.10", 80));
    AnfZoneHandler h =
        new AnfZoneHandler(
            AnfZone.of("Names.Example.", 5),
            f.resolver,
            ResolveOptions.DEFAULT,
            new RefuseHandler());
    Message r = reply(serve(h, "hello.demo.svc.names.example.", Type.A));
    assertThat(r.getSection(Section.ANSWER)).hasSize(1);
    assertThat(serve(h, "hello.demo.svc.anf.", Type.A).written()).isFalse();
  }

  @Test
  void staleAnswersAreCappedAtThirtySecondsAndSaySo() {
    LookupResult stale =
        LookupResult.newBuilder()
            .setStatus(LookupStatus.LOOKUP_STATUS_EXACT)
            .setCanonicalAlias(Alias.parse("svc@x").toProto())
            .setRecord(TestFabric.record(ep("192.0.2.1", 0)))
            .setTtlSeconds(3600)
            .setFreshness(Freshness.newBuilder().setStale(true).setAgeMs(120_000))
            .build();
    Message r = reply(serve(handler(always(stale)), "x.svc.anf.", Type.A));
    assertThat(r.getSection(Section.ANSWER).get(0).getTTL())
        .isEqualTo(AnfZoneHandler.STALE_TTL_SECONDS);
    // RFC 8914 Stale Answer, with the age (the server sends it to clients that speak EDNS).
    ExtendedErrorCodeOption ede =
        (ExtendedErrorCodeOption) Objects.requireNonNull(r.getOPT()).getOptions().get(0);
    assertThat(ede.getErrorCode()).isEqualTo(ExtendedErrorCodeOption.STALE_ANSWER);
    assertThat(ede.getText()).isEqualTo("anf: stale, 120000 ms old");
    LookupResult fresh = stale.toBuilder().clearFreshness().build();
    Message f = reply(serve(handler(always(fresh)), "x.svc.anf.", Type.A));
    assertThat(f.getSection(Section.ANSWER).get(0).getTTL()).isEqualTo(3600);
    assertThat(f.getOPT()).isNull();

    // A stale revocation says both: why, and that it is stale.
    LookupResult revoked =
        stale.toBuilder().setStatus(LookupStatus.LOOKUP_STATUS_REVOKED).setTtlSeconds(60).build();
    Message v = reply(serve(handler(always(revoked)), "x.svc.anf.", Type.A));
    assertThat(v.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(Objects.requireNonNull(v.getOPT()).getOptions())
        .extracting(o -> ((ExtendedErrorCodeOption) o).getErrorCode())
        .containsExactly(
            ExtendedErrorCodeOption.OTHER, ExtendedErrorCodeOption.STALE_NXDOMAIN_ANSWER);
  }

  @Test
  void anObjectWhoseCanonicalAliasIsOpaqueIsNeverServed() {
    LookupResult device =
        LookupResult.newBuilder()
            .setStatus(LookupStatus.LOOKUP_STATUS_EXACT)
            .setCanonicalAlias(Alias.parse("user@elizabeth/iot//3f9a0c").toProto())
            .setRecord(TestFabric.record(ep("192.0.2.1", 0)))
            .setTtlSeconds(60)
            .build();
    for (int type : new int[] {Type.A, Type.TXT, Type.SRV, Type.ANY}) {
      Message r = reply(serve(handler(always(device)), "iot.elizabeth.user.anf.", type));
      assertThat(r.getRcode()).isEqualTo(Rcode.NXDOMAIN);
      assertThat(r.toString()).doesNotContain("3f9a0c");
    }
  }

  @Test
  void aResultThatIsNotFinalIsServfailLeftToTheServer() {
    LookupResult delegated =
        LookupResult.newBuilder().setStatus(LookupStatus.LOOKUP_STATUS_DELEGATED).build();
    assertThat(serve(handler(always(delegated)), "x.svc.anf.", Type.A).written()).isFalse();
  }

  @Test
  void aCallerErrorFromTheResolverIsNxdomainWithTheReason() {
    NameResolver picky =
        (name, options) -> {
          throw AnfException.syntax(name, 3, "injected: not a name this resolver takes");
        };
    ResponseRecorder w = serve(handler(picky), "x.svc.anf.", Type.A);
    Message r = reply(w);
    assertThat(r.getRcode()).isEqualTo(Rcode.NXDOMAIN);
    assertThat(((SOARecord) r.getSection(Section.AUTHORITY).get(0)).getMinimum()).isEqualTo(5);
    OPTRecord opt = Objects.requireNonNull(r.getOPT());
    assertThat(((ExtendedErrorCodeOption) opt.getOptions().get(0)).getText()).contains("injected");
  }

  @Test
  void soaUsesTheNegativeTtlForBothTtlAndMinimum() {
    SOARecord soa = ZONE.soa(17);
    assertThat(soa.getTTL()).isEqualTo(17);
    assertThat(soa.getMinimum()).isEqualTo(17);
    assertThat(soa.getHost()).isEqualTo(Name.fromConstantString("ns.anf."));
  }
}
