package org.anf.lineage.transition;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.SignedMutation;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every refusal says why and leaves the scope byte-for-byte as it was. */
class SignatureAndRightsTest {
  FabricModel m;
  long scope;
  Mutation bind;

  @BeforeEach
  void setUp() {
    m = new FabricModel(7);
    scope = m.createChild(m.root, Alias.parse("svc"));
    bind = m.factory.bind(scope, Alias.parse("svc@demo/hello"), ObjectRecord.getDefaultInstance());
  }

  @Test
  void forgedSignatureIsRefused() {
    SignedMutation good = m.sign(bind);
    SignedMutation other =
        m.sign(m.factory.bind(scope, Alias.parse("svc@x"), ObjectRecord.getDefaultInstance()));
    SignedMutation forged = good.toBuilder().setSignature(other.getSignature()).build();
    assertRefusedUnchanged(forged, ErrorCode.BAD_SIGNATURE, "signature does not verify");
  }

  @Test
  void alteredMutationBytesAreRefused() {
    SignedMutation good = m.sign(bind);
    Mutation altered = bind.toBuilder().setJustification("changed after signing").build();
    SignedMutation tampered = good.toBuilder().setMutation(altered.toByteString()).build();
    assertRefusedUnchanged(tampered, ErrorCode.BAD_SIGNATURE, "signature does not verify");
  }

  @Test
  void missingSignatureIsRefused() {
    SignedMutation unsigned = m.sign(bind).toBuilder().clearSignature().build();
    assertRefusedUnchanged(unsigned, ErrorCode.MISSING_SIGNATURE, "no signature");
    SignedMutation noKey = m.sign(bind).toBuilder().clearPublicKey().build();
    assertRefusedUnchanged(noKey, ErrorCode.MISSING_SIGNATURE, "no public key");
  }

  @Test
  void invalidKeyIsRefused() {
    SignedMutation badKey =
        m.sign(bind).toBuilder().setPublicKey(ByteString.copyFrom(new byte[32])).build();
    assertRefusedUnchanged(badKey, ErrorCode.BAD_SIGNATURE, "not a valid Ed25519 key");
  }

  @Test
  void keyWithoutTheRightIsRefused() {
    KeyPair stranger = TestKeys.key("stranger");
    assertRefusedUnchanged(
        Signing.sign(bind, stranger),
        ErrorCode.NOT_AUTHORIZED,
        "does not hold BIND in scope 'svc'");
  }

  @Test
  void aGrantGivesOnlyItsRights() {
    KeyPair binder = TestKeys.key("binder");
    var policy =
        m.fabric.meta(scope).getPolicy().toBuilder()
            .addGrants(
                KeyGrant.newBuilder()
                    .setPublicKey(ByteString.copyFrom(binder.publicKey()))
                    .addRights(Right.RIGHT_BIND))
            .build();
    assertThat(m.apply(m.factory.setPolicy(scope, policy))).isInstanceOf(Outcome.Applied.class);
    assertThat(m.fabric.apply(scope, Signing.sign(bind, binder)))
        .isInstanceOf(Outcome.Applied.class);
    Mutation unbind = m.factory.unbind(scope, Alias.parse("svc@demo/hello"));
    assertRefusedUnchanged(
        Signing.sign(unbind, binder), ErrorCode.NOT_AUTHORIZED, "does not hold UNBIND");
  }

  @Test
  void revokedKeyLosesItsRights() {
    KeyPair second = TestKeys.key("second-owner");
    var policy =
        m.fabric.meta(scope).getPolicy().toBuilder()
            .addOwnerKeys(ByteString.copyFrom(second.publicKey()))
            .build();
    assertThat(m.apply(m.factory.setPolicy(scope, policy))).isInstanceOf(Outcome.Applied.class);
    assertThat(m.apply(m.factory.revokeKey(scope, second.publicKey(), "laptop stolen")))
        .isInstanceOf(Outcome.Applied.class);
    assertRefusedUnchanged(Signing.sign(bind, second), ErrorCode.NOT_AUTHORIZED, "is revoked");
  }

  @Test
  void transferEndsTheOldOwnersRights() {
    KeyPair old = m.owner(scope);
    KeyPair next = TestKeys.key("new-owner");
    assertThat(m.apply(m.factory.transfer(scope, List.of(next.publicKey()), true)))
        .isInstanceOf(Outcome.Applied.class);
    assertRefusedUnchanged(Signing.sign(bind, old), ErrorCode.NOT_AUTHORIZED, "does not hold BIND");
    assertThat(m.fabric.apply(scope, Signing.sign(bind, next))).isInstanceOf(Outcome.Applied.class);
  }

  @Test
  void garbageMutationBytesAreRefused() {
    SignedMutation junk =
        Signing.sign(bind, m.owner(scope)).toBuilder()
            .setMutation(ByteString.copyFrom(new byte[] {(byte) 0xff, 0x01, 0x02}))
            .build();
    assertRefusedUnchanged(junk, ErrorCode.INVALID_ARGUMENT, "does not parse");
  }

  @Test
  void mutationForAnotherScopeIsRefused() {
    Mutation elsewhere = bind.toBuilder().setScopeId(m.root).build();
    assertRefusedUnchanged(m.sign(elsewhere), ErrorCode.UNKNOWN_SCOPE, "reached scope");
  }

  /**
   * RotateDeviceHash (mutation.proto): the device's own key, or a key holding ROTATE_DEVICE_HASH in
   * the private scope (its owner, who holds the hash), and nobody else, not even another device.
   */
  @Test
  void aDeviceHashIsRotatedByTheDeviceOrByAHolderOfTheRightOnly() {
    KeyPair thermostat = TestKeys.key("thermostat");
    KeyPair camera = TestKeys.key("camera");
    KeyPair rotator = TestKeys.key("rotator");
    KeyPair binder = TestKeys.key("binder");
    var policy =
        m.fabric.meta(scope).getPolicy().toBuilder()
            .addGrants(
                KeyGrant.newBuilder()
                    .setPublicKey(ByteString.copyFrom(rotator.publicKey()))
                    .addRights(Right.RIGHT_ROTATE_DEVICE_HASH))
            .addGrants(
                KeyGrant.newBuilder()
                    .setPublicKey(ByteString.copyFrom(binder.publicKey()))
                    .addRights(Right.RIGHT_BIND))
            .build();
    assertThat(m.apply(m.factory.setPolicy(scope, policy))).isInstanceOf(Outcome.Applied.class);
    ObjectRecord rec = ObjectRecord.getDefaultInstance();
    assertThat(
            m.apply(
                m.factory.registerDevice(
                    scope, Alias.parse("svc@iot/thermostat"), "aa01", thermostat.publicKey(), rec)))
        .isInstanceOf(Outcome.Applied.class);
    assertThat(
            m.apply(
                m.factory.registerDevice(
                    scope, Alias.parse("svc@iot/camera"), "cc01", camera.publicKey(), rec)))
        .isInstanceOf(Outcome.Applied.class);

    // Refused, each with the right named, nothing changed: another device's key, a stranger, a
    // key granted other rights.
    for (KeyPair k : List.of(camera, TestKeys.key("stranger"), binder)) {
      assertRefusedUnchanged(
          Signing.sign(m.factory.rotateDeviceHash(scope, "aa01", "aa02"), k),
          ErrorCode.NOT_AUTHORIZED,
          "does not hold ROTATE_DEVICE_HASH in scope 'svc'");
    }
    // The device itself, then the holder of the right, then the owner: each extends the chain.
    assertRotated(thermostat, "aa01", "aa02", "(signed by the device)");
    assertRotated(rotator, "aa02", "aa03", "aa02 -> aa03");
    assertRotated(m.owner(scope), "aa03", "aa04", "aa03 -> aa04");
    // The device's key no longer signs once it is revoked.
    assertThat(m.apply(m.factory.revokeKey(scope, thermostat.publicKey(), "device lost")))
        .isInstanceOf(Outcome.Applied.class);
    assertRefusedUnchanged(
        Signing.sign(m.factory.rotateDeviceHash(scope, "aa04", "aa05"), thermostat),
        ErrorCode.NOT_AUTHORIZED,
        "is revoked");
  }

  private void assertRotated(KeyPair key, String from, String to, String detail) {
    Outcome o =
        m.fabric.apply(scope, Signing.sign(m.factory.rotateDeviceHash(scope, from, to), key));
    assertThat(o).isInstanceOf(Outcome.Applied.class);
    assertThat(((Outcome.Applied) o).entry().getEffect().getItems(0).getDetail()).contains(detail);
    assertThat(m.fabric.state(scope).device(to)).isNotNull();
    assertThat(m.fabric.state(scope).device(from)).isNull();
  }

  private void assertRefusedUnchanged(SignedMutation signed, ErrorCode code, String reason) {
    MemoryKv kv = java.util.Objects.requireNonNull(m.fabric.scopes().get(scope));
    byte[] before = StateDigest.of(kv);
    int size = kv.size();
    Outcome o = m.fabric.apply(scope, signed);
    assertThat(o).isInstanceOf(Outcome.Refused.class);
    Outcome.Refused r = (Outcome.Refused) o;
    assertThat(r.error().code()).isEqualTo(code);
    assertThat(r.error().getMessage()).contains(reason);
    assertThat(StateDigest.of(kv)).isEqualTo(before);
    assertThat(kv.size()).isEqualTo(size);
  }
}
