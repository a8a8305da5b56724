package org.anf.lineage.transition;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.function.UnaryOperator;
import org.anf.lineage.testing.TestKeys;
import org.anf.proto.v1.Arbitration;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;
import org.junit.jupiter.api.Test;

/** The canonical digest of a policy, as a delegation records it and an anchor checks it. */
class PoliciesTest {
  final byte[] owner = TestKeys.key("owner").publicKey();
  final byte[] grantee = TestKeys.key("grantee").publicKey();

  Policy policy() {
    return Policies.ownedBy(owner).toBuilder()
        .addGrants(
            KeyGrant.newBuilder()
                .setPublicKey(ByteString.copyFrom(grantee))
                .addRights(Right.RIGHT_BIND)
                .addRights(Right.RIGHT_UNBIND)
                .setNote("ci"))
        .addFallbackZones("example.org.")
        .setMaxDepth(4)
        .build();
  }

  @Test
  void theDigestIsSha256OverTheLayoutDocumentedInLineageMd() throws NoSuchAlgorithmException {
    Policy p = policy();
    // Written here by hand from docs/LINEAGE.md, independently of CanonicalWriter.
    Enc e = new Enc();
    e.raw("anf.v1.policy\n".getBytes(StandardCharsets.US_ASCII));
    e.u64(p.getVersion());
    e.u32(1).bytes(owner);
    e.u32(1).bytes(grantee).u32(2).u32(Right.RIGHT_BIND_VALUE).u32(Right.RIGHT_UNBIND_VALUE);
    e.bytes("ci".getBytes(StandardCharsets.UTF_8));
    e.u32(p.getMinAnchors()).u32(p.getCacheTtlSeconds()).u32(p.getNegativeTtlSeconds());
    e.u8(0).u32(0).u32(Arbitration.ARBITRATION_CANONICAL_MAJORITY_VALUE).u32(0);
    e.u32(1).bytes("example.org.".getBytes(StandardCharsets.UTF_8));
    e.u8(0).u8(1).u32(4);
    byte[] expected = MessageDigest.getInstance("SHA-256").digest(e.out.toByteArray());
    assertThat(Policies.digest(p)).isEqualTo(expected);
  }

  @Test
  void everyFieldChangesTheDigest() {
    Policy p = policy();
    List<UnaryOperator<Policy.Builder>> edits =
        List.of(
            b -> b.setVersion(2),
            b -> b.addOwnerKeys(ByteString.copyFrom(grantee)),
            b -> b.setGrants(0, b.getGrants(0).toBuilder().addRights(Right.RIGHT_MOVE)),
            b -> b.setGrants(0, b.getGrants(0).toBuilder().setNote("other")),
            b -> b.setMinAnchors(3),
            b -> b.setCacheTtlSeconds(61),
            b -> b.setNegativeTtlSeconds(6),
            b -> b.setAllowProvisional(true),
            b -> b.setProvisionalQuorumMin(2),
            b -> b.setArbitration(Arbitration.ARBITRATION_KEEP_BOTH),
            b -> b.setDivergenceBudget(10),
            b -> b.addFallbackZones("example.net."),
            b -> b.setRequireDnssec(true),
            b -> b.setParentMayReclaim(false),
            b -> b.setMaxDepth(5));
    assertThat(Policies.digest(p)).isEqualTo(Policies.digest(policy())).hasSize(32);
    for (UnaryOperator<Policy.Builder> edit : edits) {
      Policy changed = edit.apply(p.toBuilder()).build();
      assertThat(changed).isNotEqualTo(p);
      assertThat(Policies.digest(changed)).isNotEqualTo(Policies.digest(p));
    }
    // The grant's rights are hashed in order: a permutation is another policy.
    Policy swapped =
        p.toBuilder()
            .setGrants(
                0,
                p.getGrants(0).toBuilder()
                    .clearRights()
                    .addRights(Right.RIGHT_UNBIND)
                    .addRights(Right.RIGHT_BIND))
            .build();
    assertThat(Policies.digest(swapped)).isNotEqualTo(Policies.digest(p));
  }

  @Test
  void aGenesisPolicyMatchesTheDelegationThatDigestedIt() {
    Policy asRequested = policy().toBuilder().setVersion(0).build();
    Delegation d =
        Delegation.newBuilder()
            .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(asRequested)))
            .build();
    // The genesis stores the policy at version 1, whatever version the request named.
    for (long v : new long[] {0, 1, 7}) {
      assertThat(Policies.matchesDelegation(d, asRequested.toBuilder().setVersion(v).build()))
          .isTrue();
    }
    assertThat(Policies.genesisDigest(asRequested))
        .isEqualTo(Policies.digest(asRequested.toBuilder().setVersion(1).build()));
    // Any other field is another policy: the child cannot start under it.
    assertThat(
            Policies.matchesDelegation(
                d, asRequested.toBuilder().setParentMayReclaim(false).build()))
        .isFalse();
    assertThat(Policies.matchesDelegation(d, asRequested.toBuilder().clearGrants().build()))
        .isFalse();
    assertThat(Policies.matchesDelegation(Delegation.getDefaultInstance(), asRequested)).isFalse();
  }

  /** Big-endian fixed-width integers and u32-length-prefixed bytes, as LINEAGE.md says. */
  static final class Enc {
    final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Enc raw(byte[] b) {
      out.writeBytes(b);
      return this;
    }

    Enc u8(int v) {
      out.write(v);
      return this;
    }

    Enc u32(int v) {
      return raw(ByteBuffer.allocate(4).putInt(v).array());
    }

    Enc u64(long v) {
      return raw(ByteBuffer.allocate(8).putLong(v).array());
    }

    Enc bytes(byte[] b) {
      return u32(b.length).raw(b);
    }
  }
}
