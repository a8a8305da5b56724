package org.anf.lineage.alias;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.junit.jupiter.api.Test;

class AliasTest {

  @Test
  void parsesTheMissionExample() {
    Alias a = Alias.parse("user@elizabeth/iot//3f9a");
    assertThat(a.labels()).containsExactly("user", "elizabeth", "iot");
    assertThat(a.opaque()).isEqualTo("3f9a");
    assertThat(a.text()).isEqualTo("user@elizabeth/iot//3f9a");
  }

  @Test
  void dotsAndSlashesNameTheSameThing() {
    assertThat(Alias.parse("user@a.b")).isEqualTo(Alias.parse("user@a/b"));
    assertThat(Alias.parse("user@a.b").text()).isEqualTo("user@a.b");
    assertThat(Alias.parse("user@a.b").hashCode()).isEqualTo(Alias.parse("user@a/b").hashCode());
  }

  @Test
  void normalisesCaseButKeepsSeparators() {
    assertThat(Alias.parse("Org@Wikipedia.EN/Articles/Article123").text())
        .isEqualTo("org@wikipedia.en/articles/article123");
  }

  @Test
  void versionSuffixOnTheLastIndexLabel() {
    Alias a = Alias.parse("user@liz.cv/resume_wikipedia.v3");
    assertThat(a.labels()).containsExactly("user", "liz", "cv", "resume_wikipedia");
    assertThat(a.version()).isEqualTo(3);
    assertThat(a.base().text()).isEqualTo("user@liz.cv/resume_wikipedia");
  }

  @Test
  void aDotInTheDomainIsALabelNotAVersion() {
    Alias a = Alias.parse("user@a.v3");
    assertThat(a.labels()).containsExactly("user", "a", "v3");
    assertThat(a.version()).isZero();
  }

  @Test
  void topLevelLabelAlone() {
    assertThat(Alias.parse("svc").labels()).containsExactly("svc");
  }

  @Test
  void errorsNameThePositionAndWhatWasExpected() {
    assertError("svc@", 4, "expected a domain label");
    assertError("svc@demo/", 9, "expected an index label");
    assertError("svc@de!mo", 6, "unexpected '!'");
    assertError("svc/x", 3, "expected '@' after the top-level label");
    assertError("svc@a/b.c", 8, "version suffix");
    assertError("svc@a/b.v0", 9, "leading zeros");
    assertError("svc@a/b.v3/c", 10, "version suffix must come last");
    assertError("user@x//", 8, "expected an opaque segment");
    assertError("user@x//ab-c", 10, "unexpected '-'");
    assertError("", 0, "expected a top-level label");
    assertError("caf\u00e9@x", 3, "unexpected");
    assertError("\u212aelvin@x", 0, "expected a top-level label");
  }

  @Test
  void limitsAreEnforced() {
    String l63 = "a".repeat(63);
    assertThat(Alias.parse("x@" + l63).label(1)).hasSize(63);
    assertError("x@" + "a".repeat(64), 65, "longer than 63 bytes");
    String many = "x@" + String.join("/", java.util.Collections.nCopies(63, "a"));
    assertThat(Alias.parse(many).size()).isEqualTo(64);
    assertError(many + "/b", many.length() + 1, "more than 64 labels");
    String longAlias = "x@" + String.join("/", java.util.Collections.nCopies(30, "a".repeat(40)));
    assertError(longAlias, 1024, "longer than 1024 bytes");
  }

  @Test
  void relativeLabelsAndPrefixes() {
    Alias scope = Alias.parse("svc@demo");
    Alias a = Alias.parse("svc@demo/hello/world");
    assertThat(a.relativeTo(scope)).containsExactly("hello", "world");
    assertThat(scope.isPrefixOf(a)).isTrue();
    assertThat(a.prefix(2)).isEqualTo(scope);
    assertThat(scope.concat(List.of("x", "y")).text()).isEqualTo("svc@demo/x/y");
    assertThat(Alias.ROOT.concat(List.of("svc", "demo")).text()).isEqualTo("svc@demo");
    assertThatThrownBy(() -> Alias.parse("org@x").relativeTo(scope))
        .isInstanceOf(AnfException.class)
        .hasMessageContaining("not under scope");
  }

  @Test
  void dnsMappingFollowsTheArchitecture() {
    Alias a = Alias.parse("user@elizabeth/iot/thermostat");
    assertThat(DnsNames.toDns(a, "anf")).isEqualTo("thermostat.iot.elizabeth.user.anf.");
    assertThat(DnsNames.fromDns("thermostat.iot.elizabeth.user.anf.", "anf.")).isEqualTo(a);
    assertThat(DnsNames.fromDns("example.org.", "anf.")).isNull();
    assertThatThrownBy(() -> DnsNames.toDns(Alias.parse("user@e/iot//3f9a"), "anf."))
        .hasMessageContaining("never served over DNS");
    assertThatThrownBy(() -> DnsNames.fromDns("a*b.user.anf.", "anf."))
        .isInstanceOfSatisfying(AnfException.class, e -> assertThat(e.position()).isEqualTo(1));
  }

  @Test
  void namesAreAliasesOrUids() {
    assertThat(Name.parse("svc@demo/hello")).isInstanceOf(Name.AliasName.class);
    assertThat(Name.parse("uid:9f86d081884c7d65-0000-000000000001"))
        .isInstanceOf(Name.UidName.class);
    assertThatThrownBy(() -> Name.parse("uid:9f86d081884c7d65-0000-00000000000g"))
        .isInstanceOfSatisfying(
            AnfException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.ALIAS_SYNTAX);
              assertThat(e.position()).isEqualTo(37);
            });
  }

  private static void assertError(String input, int position, String fragment) {
    assertThatThrownBy(() -> Alias.parse(input))
        .isInstanceOfSatisfying(
            AnfException.class,
            e -> {
              assertThat(e.code()).isEqualTo(ErrorCode.ALIAS_SYNTAX);
              assertThat(e.position()).as(e.getMessage()).isEqualTo(position);
              assertThat(e.getMessage()).contains(fragment);
            });
  }
}
