package org.anf.lineage.transition;

import com.google.protobuf.ByteString;
import java.security.MessageDigest;
import java.util.HashSet;
import java.util.Set;
import org.anf.lineage.chain.Canonical;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.proto.v1.Arbitration;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;

/** Policy defaults, validation and digests. */
public final class Policies {
  public static final int DEFAULT_CACHE_TTL_SECONDS = 60;
  public static final int DEFAULT_NEGATIVE_TTL_SECONDS = 5;

  private Policies() {}

  /** A policy owned by one key, with the defaults a new scope gets. */
  public static Policy ownedBy(byte[] ownerKey) {
    return Policy.newBuilder()
        .setVersion(1)
        .addOwnerKeys(ByteString.copyFrom(ownerKey))
        .setMinAnchors(1)
        .setCacheTtlSeconds(DEFAULT_CACHE_TTL_SECONDS)
        .setNegativeTtlSeconds(DEFAULT_NEGATIVE_TTL_SECONDS)
        .setArbitration(Arbitration.ARBITRATION_CANONICAL_MAJORITY)
        .setParentMayReclaim(true)
        .build();
  }

  /**
   * The canonical SHA-256 digest of a policy exactly as given (layout in docs/LINEAGE.md), version
   * included. Two policies have the same digest exactly when every field is equal.
   */
  public static byte[] digest(Policy p) {
    return Canonical.policyDigest(p);
  }

  /**
   * The digest a parent records in {@link Delegation#getPolicyDigest()} for a child whose genesis
   * carries {@code genesisPolicy}: the genesis stores the policy at version 1 whatever version the
   * request names, so the digest is of that.
   */
  public static byte[] genesisDigest(Policy genesisPolicy) {
    return digest(genesisPolicy.toBuilder().setVersion(1).build());
  }

  /**
   * Whether a child's genesis policy is the one its parent delegated: what an anchor checks before
   * it starts a child group, so a child cannot start under a policy its parent did not record.
   */
  public static boolean matchesDelegation(Delegation d, Policy genesisPolicy) {
    return MessageDigest.isEqual(d.getPolicyDigest().toByteArray(), genesisDigest(genesisPolicy));
  }

  /** Checks a policy's form; fills nothing in. */
  public static void validate(Policy p) {
    if (p.getOwnerKeysCount() == 0) {
      throw AnfException.invalid("policy.owner_keys", "a policy needs at least one owner key");
    }
    Set<ByteString> owners = new HashSet<>();
    for (ByteString k : p.getOwnerKeysList()) {
      if (!Ed25519.isValidPublicKey(k.toByteArray())) {
        throw AnfException.invalid("policy.owner_keys", "an owner key is not a valid Ed25519 key");
      }
      if (!owners.add(k)) {
        throw AnfException.invalid("policy.owner_keys", "an owner key repeats");
      }
    }
    for (KeyGrant g : p.getGrantsList()) {
      if (!Ed25519.isValidPublicKey(g.getPublicKey().toByteArray())) {
        throw AnfException.invalid("policy.grants", "a granted key is not a valid Ed25519 key");
      }
      for (Right r : g.getRightsList()) {
        if (r == Right.RIGHT_UNSPECIFIED || r == Right.UNRECOGNIZED) {
          throw AnfException.invalid("policy.grants", "a grant names an unknown right");
        }
      }
    }
    if (p.getCacheTtlSeconds() > Records.MAX_TTL_SECONDS
        || p.getNegativeTtlSeconds() > Records.MAX_TTL_SECONDS) {
      throw AnfException.invalid("policy", "cache lifetimes are at most 7 days");
    }
    if (p.getArbitration() == Arbitration.UNRECOGNIZED) {
      throw AnfException.invalid("policy.arbitration", "unknown arbitration rule");
    }
    for (String zone : p.getFallbackZonesList()) {
      if (zone.isEmpty() || zone.length() > 253 || !zone.endsWith(".")) {
        throw AnfException.invalid(
            "policy.fallback_zones", "zone '" + zone + "' must be a DNS name ending in '.'");
      }
    }
  }

  public static boolean hasRight(Policy p, byte[] key, Right right) {
    ByteString k = ByteString.copyFrom(key);
    if (p.getOwnerKeysList().contains(k)) {
      return true;
    }
    for (KeyGrant g : p.getGrantsList()) {
      if (g.getPublicKey().equals(k) && g.getRightsList().contains(right)) {
        return true;
      }
    }
    return false;
  }

  public static int cacheTtl(Policy p) {
    return p.getCacheTtlSeconds() == 0 ? DEFAULT_CACHE_TTL_SECONDS : p.getCacheTtlSeconds();
  }

  public static int negativeTtl(Policy p) {
    return p.getNegativeTtlSeconds() == 0
        ? DEFAULT_NEGATIVE_TTL_SECONDS
        : p.getNegativeTtlSeconds();
  }
}
