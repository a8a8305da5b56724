package org.anf.dns.handler;

import static org.anf.dns.testing.TestFabric.ep;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.anf.dns.testing.TestFabric;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

/** The mapping from a lookup result to DNS records, one rule per test. */
class AliasRecordsTest {
  static final Name QNAME = Name.fromConstantString("hello.demo.svc.anf.");
  static final Alias ASKED = Alias.parse("svc@demo/hello");
  static final Uid UID = Uid.of(0x9f86d081884c7d65L, 0, 1);

  static LookupResult exact(ObjectRecord record) {
    return LookupResult.newBuilder()
        .setStatus(LookupStatus.LOOKUP_STATUS_EXACT)
        .setUid(UID.toProto())
        .setCanonicalAlias(ASKED.toProto())
        .setRecord(record)
        .setTtlSeconds(60)
        .build();
  }

  static List<String> rdata(List<Record> records) {
    List<String> out = new ArrayList<>();
    records.forEach(r -> out.add(Type.string(r.getType()) + " " + r.rdataToString()));
    return out;
  }

  @Test
  void addressesKeepTheirFamilyOrderAndAppearOnce() {
    LookupResult r =
        exact(
            TestFabric.record(
                ep("192.0.2.1", 80),
                ep("[2001:db8::1]", 80),
                ep("192.0.2.2", 0),
                ep("192.0.2.1", 443),
                ep("host.example.org", 80),
                ep("fe80::1%eth0", 80),
                ep("999.1.1.1", 80)));
    assertThat(rdata(AliasRecords.forQuery(QNAME, Type.A, ASKED, r, 60).answer()))
        .containsExactly("A 192.0.2.1", "A 192.0.2.2");
    assertThat(rdata(AliasRecords.forQuery(QNAME, Type.AAAA, ASKED, r, 60).answer()))
        .containsExactly("AAAA 2001:db8:0:0:0:0:0:1");
    Record a = AliasRecords.forQuery(QNAME, Type.A, ASKED, r, 42).answer().get(0);
    assertThat(a).isInstanceOf(ARecord.class);
    assertThat(a.getName()).isEqualTo(QNAME);
    assertThat(a.getTTL()).isEqualTo(42);
  }

  @Test
  void srvTargetsHostNamesAsTheyAreAndIpLiteralsThroughTheAliasName() {
    LookupResult r =
        exact(
            TestFabric.record(
                ep("192.0.2.1", 8080),
                ep("2001:db8::1", 8080),
                ep("api.example.org", 443),
                ep("api.example.org.", 443),
                ep("192.0.2.9", 0),
                ep("192.0.2.8", 70000)));
    AliasRecords.Answer srv = AliasRecords.forQuery(QNAME, Type.SRV, ASKED, r, 60);
    assertThat(rdata(srv.answer()))
        .containsExactly("SRV 0 0 8080 hello.demo.svc.anf.", "SRV 0 0 443 api.example.org.");
    // The target's addresses are all the alias's IP endpoints, port or not: the A/AAAA RRsets.
    assertThat(rdata(srv.additional()))
        .containsExactly("A 192.0.2.1", "A 192.0.2.9", "A 192.0.2.8", "AAAA 2001:db8:0:0:0:0:0:1");
  }

  @Test
  void srvWithOnlyHostNameTargetsNeedsNoAdditional() {
    LookupResult r = exact(TestFabric.record(ep("api.example.org", 443)));
    AliasRecords.Answer srv = AliasRecords.forQuery(QNAME, Type.SRV, ASKED, r, 60);
    assertThat(srv.answer()).singleElement().isInstanceOf(SRVRecord.class);
    assertThat(srv.additional()).isEmpty();
  }

  @Test
  void txtNamesTheUidAndTheCanonicalAlias() {
    LookupResult r = exact(ObjectRecord.getDefaultInstance());
    assertThat(txt(AliasRecords.forQuery(QNAME, Type.TXT, ASKED, r, 60).answer()))
        .containsExactly("uid=uid:9f86d081884c7d65-0000-000000000001", "alias=svc@demo/hello");
  }

  @Test
  void txtSaysWhereARedirectCameFrom() {
    LookupResult renamed =
        exact(ObjectRecord.getDefaultInstance()).toBuilder()
            .setStatus(LookupStatus.LOOKUP_STATUS_REDIRECTED)
            .setCanonicalAlias(Alias.parse("svc@demo/hi").toProto())
            .build();
    assertThat(txt(AliasRecords.forQuery(QNAME, Type.TXT, ASKED, renamed, 60).answer()))
        .containsExactly(
            "uid=uid:9f86d081884c7d65-0000-000000000001",
            "alias=svc@demo/hi",
            "redirected-from=svc@demo/hello");
    // A move to another scope answers EXACT at the new place; the labels differ all the same.
    LookupResult moved =
        exact(ObjectRecord.getDefaultInstance()).toBuilder()
            .setCanonicalAlias(Alias.parse("user@team/hello").toProto())
            .build();
    assertThat(AliasRecords.redirected(ASKED, moved)).isTrue();
    // The same labels written with other separators are the same alias: not a redirect.
    LookupResult sameLabels =
        exact(ObjectRecord.getDefaultInstance()).toBuilder()
            .setCanonicalAlias(Alias.parse("svc@demo.hello").toProto())
            .build();
    assertThat(AliasRecords.redirected(ASKED, sameLabels)).isFalse();
  }

  @Test
  void longTxtValuesAreSplitIntoCharacterStringsOfAtMost255Bytes() {
    List<String> labels = new ArrayList<>(List.of("svc"));
    for (int i = 0; i < 20; i++) {
      labels.add("label-" + "x".repeat(10) + i);
    }
    Alias longAlias = Alias.of(labels);
    LookupResult r =
        exact(ObjectRecord.getDefaultInstance()).toBuilder()
            .setCanonicalAlias(longAlias.toProto())
            .build();
    TXTRecord alias =
        (TXTRecord) AliasRecords.forQuery(QNAME, Type.TXT, ASKED, r, 60).answer().get(1);
    assertThat(alias.getStrings()).hasSizeGreaterThan(1).allMatch(s -> s.length() <= 255);
    assertThat(String.join("", alias.getStrings())).isEqualTo("alias=" + longAlias.text());
  }

  @Test
  void anyGivesTheTxtRecordsOnlyAndOtherTypesNothing() {
    LookupResult r = exact(TestFabric.record(ep("192.0.2.1", 80)));
    assertThat(AliasRecords.forQuery(QNAME, Type.ANY, ASKED, r, 60).answer())
        .allMatch(rec -> rec instanceof TXTRecord)
        .hasSize(2);
    for (int type : new int[] {Type.MX, Type.CNAME, Type.NS, Type.SOA, Type.PTR, Type.HTTPS}) {
      assertThat(AliasRecords.forQuery(QNAME, type, ASKED, r, 60).isEmpty()).isTrue();
    }
    assertThat(AliasRecords.forQuery(QNAME, Type.AAAA, ASKED, r, 60).answer()).isEmpty();
    assertThat(AliasRecords.ipLiteral("::ffff:192.0.2.1")).hasSize(16);
    assertThat(AliasRecords.ipLiteral("example.org")).isNull();
    assertThat(
            AliasRecords.forQuery(
                    QNAME, Type.AAAA, ASKED, exact(TestFabric.record(ep("::1", 0))), 1)
                .answer())
        .singleElement()
        .isInstanceOf(AAAARecord.class);
  }

  static List<String> txt(List<Record> records) {
    List<String> out = new ArrayList<>();
    records.forEach(r -> out.add(String.join("", ((TXTRecord) r).getStrings())));
    return out;
  }
}
