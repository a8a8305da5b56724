package org.anf.anchor.cli;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Mutation;

/** Text and JSON renderings shared by the commands. */
final class Format {
  private Format() {}

  static String effect(EffectItem i) {
    StringBuilder sb = new StringBuilder(i.getKind().name().substring("EFFECT_KIND_".length()));
    if (!i.getAlias().getText().isEmpty()) {
      sb.append(' ').append(i.getAlias().getText());
    }
    if (i.hasUid()) {
      sb.append(' ').append(Uid.fromProto(i.getUid()));
    }
    if (i.hasSuccessor()) {
      sb.append(" -> ").append(Uid.fromProto(i.getSuccessor()));
    }
    if (i.hasTarget() && !i.getTarget().getText().isEmpty()) {
      sb.append(" -> ").append(i.getTarget().getText());
    }
    if (!i.getDetail().isEmpty()) {
      sb.append(" (").append(i.getDetail()).append(')');
    }
    return sb.toString();
  }

  static String entry(LineageEntry e) {
    Mutation m = Transitions.parse(e.getMutation());
    List<String> effects = new ArrayList<>();
    e.getEffect().getItemsList().forEach(i -> effects.add(effect(i)));
    return String.format(
        "#%-4d %s  %s  by %s  hash %s",
        e.getSeq(),
        Instant.ofEpochMilli(m.getIssuedAtMs()),
        String.join("; ", effects),
        Ed25519.publicKeyText(e.getMutation().getPublicKey().toByteArray()).substring(0, 20) + "…",
        Bytes.hex(e.getHash().toByteArray()).substring(0, 16));
  }

  static Json entryJson(LineageEntry e) {
    Mutation m = Transitions.parse(e.getMutation());
    List<Object> effects = new ArrayList<>();
    for (EffectItem i : e.getEffect().getItemsList()) {
      effects.add(
          Json.obj()
              .put("kind", i.getKind().name().substring("EFFECT_KIND_".length()))
              .put("alias", i.getAlias().getText())
              .put("uid", i.hasUid() ? Uid.fromProto(i.getUid()).text() : null)
              .put("successor", i.hasSuccessor() ? Uid.fromProto(i.getSuccessor()).text() : null)
              .put("target", i.getTarget().getText())
              .put("detail", i.getDetail()));
    }
    return Json.obj()
        .put("seq", e.getSeq())
        .put("issuedAt", Instant.ofEpochMilli(m.getIssuedAtMs()).toString())
        .put("kind", m.getKindCase().name())
        .put("justification", m.getJustification())
        .put("proposer", Ed25519.publicKeyText(e.getMutation().getPublicKey().toByteArray()))
        .put("effects", effects)
        .put("policyVersion", e.getPolicyVersion())
        .put("prevHash", Bytes.hex(e.getPrevHash().toByteArray()))
        .put("hash", Bytes.hex(e.getHash().toByteArray()));
  }
}
