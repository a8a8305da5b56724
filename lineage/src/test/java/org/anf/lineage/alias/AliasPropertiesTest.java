package org.anf.lineage.alias;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.uid.Uid;

class AliasPropertiesTest {

  @Property(tries = 2000)
  void printOfParseIsIdentityOnNormalisedAliases(@ForAll("aliases") String text) {
    Alias a = Alias.parse(text);
    assertThat(a.text()).isEqualTo(text);
    assertThat(Alias.parse(a.text())).isEqualTo(a);
    Statistics.label("shape")
        .collect(
            a.size() == 1
                ? "tld only"
                : a.hasOpaque() ? "opaque" : a.version() > 0 ? "versioned" : "plain");
  }

  @Property(tries = 2000)
  void upperCaseParsesToTheSameAlias(@ForAll("aliases") String text) {
    assertThat(Alias.parse(text.toUpperCase(java.util.Locale.ROOT))).isEqualTo(Alias.parse(text));
  }

  @Property(tries = 5000)
  void randomStringsParseOrFailWithAPosition(@ForAll("noise") String input) {
    assertParsesOrPositionedError(input);
  }

  @Property(tries = 5000)
  void mutatedAliasesParseOrFailWithAPosition(
      @ForAll("aliases") String text,
      @ForAll("edits") int op,
      @ForAll("anyChar") char c,
      @ForAll("fraction") double where) {
    StringBuilder sb = new StringBuilder(text);
    int i = (int) (where * sb.length());
    switch (op) {
      case 0 -> sb.insert(i, c);
      case 1 -> sb.deleteCharAt(Math.min(i, sb.length() - 1));
      default -> sb.setCharAt(Math.min(i, sb.length() - 1), c);
    }
    assertParsesOrPositionedError(sb.toString());
  }

  @Property(tries = 2000)
  void dnsFormRoundTrips(@ForAll("plain") Alias a) {
    String dns = DnsNames.toDns(a, "anf.");
    assertThat(dns).endsWith(".anf.");
    assertThat(DnsNames.fromDns(dns, "anf")).isEqualTo(a);
    assertThat(DnsNames.fromDns(dns.toUpperCase(java.util.Locale.ROOT), "ANF.")).isEqualTo(a);
  }

  @Property(tries = 2000)
  void uidTextRoundTrips(
      @ForAll long scope, @ForAll("tags") int tag, @ForAll("counters") long counter) {
    Uid u = Uid.of(scope, tag, counter);
    assertThat(Uid.parse(u.text())).isEqualTo(u);
    assertThat(Uid.fromBytes(u.toBytes())).isEqualTo(u);
    assertThat(Uid.fromProto(u.toProto())).isEqualTo(u);
    assertThat(Name.parse(u.text())).isEqualTo(new Name.UidName(u));
  }

  @Property(tries = 3000)
  void randomUidTextsParseOrFailWithAPosition(@ForAll("uidNoise") String input) {
    try {
      Uid u = Uid.parse(input);
      assertThat(u.text()).isEqualToIgnoringCase(input);
    } catch (AnfException e) {
      assertThat(e.code()).isEqualTo(ErrorCode.ALIAS_SYNTAX);
      assertThat(e.position()).isBetween(0, input.length());
    }
  }

  static void assertParsesOrPositionedError(String input) {
    try {
      Alias a = Alias.parse(input);
      assertThat(Alias.parse(a.text())).isEqualTo(a);
      Statistics.label("outcome").collect("parsed");
    } catch (AnfException e) {
      assertThat(e.code()).isEqualTo(ErrorCode.ALIAS_SYNTAX);
      assertThat(e.position()).isBetween(0, input.length());
      assertThat(e.getMessage()).contains("at position " + e.position());
      Statistics.label("outcome").collect("syntax error");
    }
  }

  @Provide
  Arbitrary<String> aliases() {
    return AliasArbitraries.aliasText();
  }

  @Provide
  Arbitrary<Alias> plain() {
    return AliasArbitraries.plainAlias();
  }

  @Provide
  Arbitrary<String> noise() {
    return Arbitraries.oneOf(
        Arbitraries.strings().withChars("ab1-_@./vV/ Zé\u0000:").ofMaxLength(40),
        Arbitraries.strings().all().ofMaxLength(30),
        Arbitraries.strings().withChars("a@./").ofMinLength(1000).ofMaxLength(1100));
  }

  @Provide
  Arbitrary<Integer> edits() {
    return Arbitraries.integers().between(0, 2);
  }

  @Provide
  Arbitrary<Character> anyChar() {
    return Arbitraries.oneOf(
        Arbitraries.chars().with('@', '.', '/', 'v', '0', '-', '_', ' ', ':', 'K', '\u212a'),
        Arbitraries.chars().all());
  }

  @Provide
  Arbitrary<Double> fraction() {
    return Arbitraries.doubles().between(0, 0.999).ofScale(3);
  }

  @Provide
  Arbitrary<Integer> tags() {
    return Arbitraries.integers().between(0, 0xffff);
  }

  @Provide
  Arbitrary<Long> counters() {
    return Arbitraries.longs().between(1, Uid.MAX_COUNTER);
  }

  @Provide
  Arbitrary<String> uidNoise() {
    return Arbitraries.oneOf(
        Arbitraries.strings().withChars("uid:0123456789abcdefABCDEFxg-").ofMaxLength(45),
        Arbitraries.longs()
            .map(l -> Uid.of(l, 0, 1).text())
            .map(s -> s.substring(0, Math.max(4, s.length() - Math.abs(s.hashCode() % 5)))));
  }
}
