package org.anf.lineage.transition;

import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Bind;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.ObjectStatus;
import org.anf.proto.v1.Rename;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.RotateUid;
import org.anf.proto.v1.Unbind;

/** Transitions on single bindings: bind, unbind, rename, UID rotation. */
final class BindingTransitions {
  private BindingTransitions() {}

  static void bind(Tx tx, Bind body) {
    tx.requireRight(Right.RIGHT_BIND);
    String path = tx.rel(body.getAlias(), "bind.alias");
    Records.validate(body.getRecord());
    tx.requireFree(path);
    Uid uid = tx.allocate();
    tx.putBinding(path, uid);
    tx.putObject(
        ObjectState.newBuilder()
            .setUid(uid.toProto())
            .setPath(path)
            .setRecord(body.getRecord())
            .setStatus(ObjectStatus.OBJECT_STATUS_LIVE)
            .setCreatedSeq(tx.seq())
            .setUpdatedSeq(tx.seq())
            .build());
    tx.uid = uid;
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_BOUND)
            .setAlias(tx.full(path).toProto())
            .setUid(uid.toProto()));
  }

  static void unbind(Tx tx, Unbind body) {
    tx.requireRight(Right.RIGHT_UNBIND);
    String path = tx.rel(body.getAlias(), "unbind.alias");
    ObjectState o = tx.boundObject(path);
    tx.requireUnlocked(path);
    Uid uid = Uid.fromProto(o.getUid());
    tx.deleteBinding(path);
    tx.putRedirect(path, tx.redirectToUid(uid));
    if (!o.getDeviceHash().isEmpty()) {
      tx.deleteDevice(o.getDeviceHash());
    }
    tx.putObject(
        o.toBuilder()
            .setStatus(ObjectStatus.OBJECT_STATUS_RETIRED)
            .setUpdatedSeq(tx.seq())
            .build());
    tx.uid = uid;
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_RETIRED)
            .setAlias(tx.full(path).toProto())
            .setUid(uid.toProto())
            .setDetail("UID retired for good; the alias resolves to 'retired'"));
  }

  static void rename(Tx tx, Rename body) {
    tx.requireRight(Right.RIGHT_RENAME);
    String from = tx.rel(body.getFrom(), "rename.from");
    String to = tx.rel(body.getTo(), "rename.to");
    if (from.equals(to)) {
      throw AnfException.invalid("rename.to", "the new alias is the old one");
    }
    ObjectState o = tx.boundObject(from);
    tx.requireUnlocked(from);
    tx.requireFree(to);
    Uid uid = Uid.fromProto(o.getUid());
    tx.deleteBinding(from);
    tx.putBinding(to, uid);
    // The old alias points at the UID, not at the new alias, so a chain of renames stays one hop.
    tx.putRedirect(from, tx.redirectToUid(uid));
    tx.putObject(o.toBuilder().setPath(to).setUpdatedSeq(tx.seq()).build());
    tx.uid = uid;
    Alias toAlias = tx.full(to);
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_RENAMED)
            .setAlias(tx.full(from).toProto())
            .setUid(uid.toProto())
            .setTarget(toAlias.toProto()));
  }

  static void rotateUid(Tx tx, RotateUid body) {
    tx.requireRight(Right.RIGHT_ROTATE_UID);
    String path = tx.rel(body.getAlias(), "rotate_uid.alias");
    ObjectState old = tx.boundObject(path);
    tx.requireUnlocked(path);
    Uid oldUid = Uid.fromProto(old.getUid());
    Uid newUid = tx.allocate();
    tx.putBinding(path, newUid);
    tx.putObject(
        old.toBuilder()
            .setUid(newUid.toProto())
            .setPredecessor(oldUid.toProto())
            .setCreatedSeq(tx.seq())
            .setUpdatedSeq(tx.seq())
            .build());
    tx.putObject(
        old.toBuilder()
            .setStatus(ObjectStatus.OBJECT_STATUS_ROTATED)
            .setSuccessor(newUid.toProto())
            .setUpdatedSeq(tx.seq())
            .build());
    if (!old.getDeviceHash().isEmpty()) {
      tx.putDevice(old.getDeviceHash(), newUid);
    }
    tx.uid = newUid;
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_UID_ROTATED)
            .setAlias(tx.full(path).toProto())
            .setUid(oldUid.toProto())
            .setSuccessor(newUid.toProto()));
  }
}
