package org.anf.lineage.alias;

import org.anf.lineage.uid.Uid;

/** What a user may type to name something: an alias, or a UID in its {@code uid:} form. */
public sealed interface Name {
  record AliasName(Alias alias) implements Name {
    @Override
    public String text() {
      return alias.text();
    }
  }

  record UidName(Uid uid) implements Name {
    @Override
    public String text() {
      return uid.text();
    }
  }

  String text();

  static Name parse(String input) {
    return Uid.looksLikeUid(input)
        ? new UidName(Uid.parse(input))
        : new AliasName(Alias.parse(input));
  }
}
