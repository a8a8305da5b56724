package org.anf.lineage.transition;

import com.google.protobuf.ByteString;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.ObjectKind;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.ObjectStatus;
import org.anf.proto.v1.RegisterDevice;
import org.anf.proto.v1.Revoke;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.RotateDeviceHash;

/**
 * Devices and revocation. A device's hash is a pseudonym computed on the device; the scope (the
 * owner's private group) holds the current one and the key that may replace it. Each rotation names
 * the hash it replaces, so the lineage holds an unbroken chain of hashes.
 */
final class DeviceTransitions {
  private DeviceTransitions() {}

  static String checkHash(String hash, String field) {
    String h = hash.toLowerCase(java.util.Locale.ROOT);
    if (h.isEmpty()
        || h.length() > 63
        || !h.chars().allMatch(c -> (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
      throw AnfException.invalid(
          field, "a device hash is 1 to 63 characters of a-z and 0-9 (hex or base32)");
    }
    return h;
  }

  static void registerDevice(Tx tx, RegisterDevice body) {
    tx.requireRight(Right.RIGHT_REGISTER_DEVICE);
    String path = tx.rel(body.getAlias(), "register_device.alias");
    String hash = checkHash(body.getDeviceHash(), "register_device.device_hash");
    if (!Ed25519.isValidPublicKey(body.getDeviceKey().toByteArray())) {
      throw AnfException.invalid("register_device.device_key", "not a valid Ed25519 key");
    }
    Records.validate(body.getRecord());
    tx.requireFree(path);
    requireUnusedHash(tx, hash);
    Uid uid = tx.allocate();
    tx.putBinding(path, uid);
    tx.putDevice(hash, uid);
    tx.putObject(
        ObjectState.newBuilder()
            .setUid(uid.toProto())
            .setPath(path)
            .setRecord(body.getRecord().toBuilder().setKind(ObjectKind.OBJECT_KIND_DEVICE))
            .setStatus(ObjectStatus.OBJECT_STATUS_LIVE)
            .setDeviceHash(hash)
            .setDeviceKey(body.getDeviceKey())
            .setCreatedSeq(tx.seq())
            .setUpdatedSeq(tx.seq())
            .build());
    tx.uid = uid;
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_DEVICE_REGISTERED)
            .setAlias(tx.full(path).toProto())
            .setUid(uid.toProto()));
  }

  private static void requireUnusedHash(Tx tx, String hash) {
    if (tx.device(hash) != null) {
      throw new AnfException(ErrorCode.ALREADY_EXISTS, "device hash " + hash + " is in use");
    }
    if (tx.deviceRevocation(hash) != null) {
      throw AnfException.precondition("device hash " + hash + " is revoked");
    }
  }

  static void rotateDeviceHash(Tx tx, RotateDeviceHash body) {
    String prev = checkHash(body.getPreviousHash(), "rotate_device_hash.previous_hash");
    String next = checkHash(body.getNewHash(), "rotate_device_hash.new_hash");
    if (prev.equals(next)) {
      throw AnfException.invalid("rotate_device_hash.new_hash", "the new hash is the old one");
    }
    Uid uid = tx.device(prev);
    if (uid == null) {
      throw new AnfException(
          ErrorCode.NOT_FOUND, "no device has hash " + prev + " now (rotated, revoked or unknown)");
    }
    ObjectState o = tx.object(uid);
    if (o == null || o.getStatus() != ObjectStatus.OBJECT_STATUS_LIVE) {
      throw AnfException.precondition("the device with hash " + prev + " is not live");
    }
    if (tx.deviceRevocation(prev) != null) {
      throw AnfException.precondition("device hash " + prev + " is revoked; it has no successor");
    }
    // The device computes its next hash, so it signs its own rotation; the owner of the private
    // scope, which holds the hash, may rotate it too (RIGHT_ROTATE_DEVICE_HASH; mission item 7).
    boolean deviceSigned = o.getDeviceKey().equals(ByteString.copyFrom(tx.signer));
    if (!deviceSigned) {
      tx.requireRight(Right.RIGHT_ROTATE_DEVICE_HASH);
    }
    tx.requireUnlocked(o.getPath());
    requireUnusedHash(tx, next);
    tx.deleteDevice(prev);
    tx.putDevice(next, uid);
    tx.putObject(o.toBuilder().setDeviceHash(next).setUpdatedSeq(tx.seq()).build());
    tx.uid = uid;
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_DEVICE_ROTATED)
            .setAlias(tx.full(o.getPath()).toProto())
            .setUid(uid.toProto())
            .setDetail(prev + " -> " + next + (deviceSigned ? " (signed by the device)" : "")));
  }

  static void revoke(Tx tx, Revoke body) {
    tx.requireRight(Right.RIGHT_REVOKE);
    String reason = body.getReason();
    if (reason.length() > 1024) {
      throw AnfException.invalid("revoke.reason", "at most 1,024 characters");
    }
    switch (body.getTargetCase()) {
      case DEVICE_HASH -> {
        String hash = checkHash(body.getDeviceHash(), "revoke.device_hash");
        if (tx.deviceRevocation(hash) != null) {
          throw new AnfException(
              ErrorCode.ALREADY_EXISTS, "device hash " + hash + " is already revoked");
        }
        tx.putRevocation(StateKeys.REVOKED_DEVICE, Bytes.utf8(hash), reason);
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_REVOKED)
                .setDetail("device hash " + hash + ": " + reason));
      }
      case UID -> {
        Uid uid = Uid.fromProto(body.getUid());
        if (tx.object(uid) == null) {
          throw new AnfException(ErrorCode.NOT_FOUND, uid + " is not known in this scope");
        }
        if (tx.uidRevocation(uid) != null) {
          throw new AnfException(ErrorCode.ALREADY_EXISTS, uid + " is already revoked");
        }
        tx.putRevocation(StateKeys.REVOKED_UID, uid.toBytes(), reason);
        tx.uid = uid;
        tx.add(tx.effect(EffectKind.EFFECT_KIND_REVOKED).setUid(uid.toProto()).setDetail(reason));
      }
      case PUBLIC_KEY -> {
        byte[] key = body.getPublicKey().toByteArray();
        if (!Ed25519.isValidPublicKey(key)) {
          throw AnfException.invalid("revoke.public_key", "not a valid Ed25519 key");
        }
        if (tx.keyRevocation(key) != null) {
          throw new AnfException(ErrorCode.ALREADY_EXISTS, "the key is already revoked");
        }
        var owners = tx.meta().getPolicy().getOwnerKeysList();
        if (owners.size() == 1 && owners.get(0).equals(body.getPublicKey())) {
          throw AnfException.precondition(
              "that key is the scope's only owner; transfer ownership before revoking it");
        }
        tx.putRevocation(StateKeys.REVOKED_KEY, key, reason);
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_REVOKED)
                .setDetail("key " + Ed25519.publicKeyText(key) + ": " + reason));
      }
      case TARGET_NOT_SET -> throw AnfException.invalid("revoke", "name a device hash, UID or key");
    }
  }
}
