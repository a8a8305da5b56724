package org.anf.lineage.alias;

import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;

/** Generators of valid, normalised aliases in every shape the grammar allows. */
public final class AliasArbitraries {
  private AliasArbitraries() {}

  public static Arbitrary<String> label() {
    Arbitrary<String> shortLabel =
        Arbitraries.strings()
            .withChars("abcdefghijklmnopqrstuvwxyz0123456789-_")
            .ofMinLength(1)
            .ofMaxLength(12);
    Arbitrary<String> longLabel =
        Arbitraries.strings()
            .withChars("abcdefghijklmnopqrstuvwxyz0123456789-_")
            .ofMinLength(50)
            .ofMaxLength(63);
    return Arbitraries.frequencyOf(
        net.jqwik.api.Tuple.of(9, shortLabel), net.jqwik.api.Tuple.of(1, longLabel));
  }

  public static Arbitrary<String> opaque() {
    return Arbitraries.strings()
        .withChars("abcdefghijklmnopqrstuvwxyz0123456789")
        .ofMinLength(1)
        .ofMaxLength(63);
  }

  /** Normalised alias texts: print(parse(text)) must give text back. */
  public static Arbitrary<String> aliasText() {
    Arbitrary<List<String>> domain = label().list().ofMinSize(0).ofMaxSize(4);
    Arbitrary<List<String>> index = label().list().ofMinSize(0).ofMaxSize(5);
    Arbitrary<Integer> version =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(3, Arbitraries.just(0)),
            net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(1, Integer.MAX_VALUE)));
    Arbitrary<String> opaque =
        Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(3, Arbitraries.just("")), net.jqwik.api.Tuple.of(1, opaque()));
    return Combinators.combine(label(), domain, index, version, opaque)
        .as(
            (tld, dom, idx, v, op) -> {
              StringBuilder sb = new StringBuilder(tld);
              if (!dom.isEmpty()) {
                sb.append('@').append(String.join(".", dom));
                for (String i : idx) {
                  sb.append('/').append(i);
                }
                if (!idx.isEmpty() && v > 0) {
                  sb.append(".v").append(v);
                }
              }
              if (!op.isEmpty()) {
                sb.append("//").append(op);
              }
              return sb.toString();
            })
        .filter(s -> s.length() <= Alias.MAX_ALIAS_BYTES);
  }

  /** Aliases without version or opaque segment: the ones that have a DNS form. */
  public static Arbitrary<Alias> plainAlias() {
    return aliasText().map(Alias::parse).map(Alias::base).filter(a -> a.size() >= 1);
  }
}
