package org.anf.lineage.chain;

import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.Effect;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.Uid;

/** Canonical hashes of the structures lineage commits to (layouts in docs/LINEAGE.md). */
public final class Canonical {
  private Canonical() {}

  public static byte[] policyDigest(Policy p) {
    CanonicalWriter w = new CanonicalWriter("anf.v1.policy\n");
    w.u64(p.getVersion());
    w.u32(p.getOwnerKeysCount());
    p.getOwnerKeysList().forEach(w::bytes);
    w.u32(p.getGrantsCount());
    for (KeyGrant g : p.getGrantsList()) {
      w.bytes(g.getPublicKey());
      w.u32(g.getRightsCount());
      for (Right r : g.getRightsList()) {
        w.u32(r.getNumber());
      }
      w.str(g.getNote());
    }
    w.u32(p.getMinAnchors())
        .u32(p.getCacheTtlSeconds())
        .u32(p.getNegativeTtlSeconds())
        .bool(p.getAllowProvisional())
        .u32(p.getProvisionalQuorumMin())
        .u32(p.getArbitrationValue())
        .u32(p.getDivergenceBudget());
    w.u32(p.getFallbackZonesCount());
    p.getFallbackZonesList().forEach(w::str);
    w.bool(p.getRequireDnssec()).bool(p.getParentMayReclaim()).u32(p.getMaxDepth());
    return w.finish();
  }

  // Anchor maps change rarely and are hashed into every entry: remember the last few.
  private static final java.util.Map<AnchorMap, byte[]> ANCHOR_HASHES =
      java.util.Collections.synchronizedMap(
          new java.util.LinkedHashMap<>(16, 0.75f, true) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(java.util.Map.Entry<AnchorMap, byte[]> e) {
              return size() > 64;
            }
          });

  public static byte[] anchorMapHash(AnchorMap m) {
    return ANCHOR_HASHES.computeIfAbsent(m, Canonical::computeAnchorMapHash).clone();
  }

  private static byte[] computeAnchorMapHash(AnchorMap m) {
    CanonicalWriter w = new CanonicalWriter("anf.v1.anchors\n");
    w.u64(m.getVersion());
    w.u32(m.getAnchorsCount());
    for (AnchorInfo a : m.getAnchorsList()) {
      w.str(a.getId()).str(a.getAddress()).bytes(a.getPublicKey()).str(a.getRaftAddress());
    }
    return w.finish();
  }

  static void effect(CanonicalWriter w, Effect e) {
    w.u32(e.getItemsCount());
    for (EffectItem i : e.getItemsList()) {
      w.u32(i.getKindValue());
      w.str(i.getAlias().getText());
      uid(w, i.hasUid(), i.getUid());
      uid(w, i.hasSuccessor(), i.getSuccessor());
      w.str(i.getTarget().getText());
      w.str(i.getDetail());
    }
  }

  private static void uid(CanonicalWriter w, boolean present, Uid u) {
    w.bool(present);
    if (present) {
      w.u64(u.getHi()).u64(u.getLo());
    }
  }

  /**
   * The hash of a lineage entry: every field but {@code hash}, in field order: scope id, seq, prev
   * hash, the signed mutation (bytes, key, signature), the effect, policy version, anchor map hash,
   * delta hash, and the UID space tag when it is not 0.
   */
  public static byte[] entryHash(LineageEntry e) {
    CanonicalWriter w = new CanonicalWriter("anf.v1.lineage\n");
    w.u64(e.getScopeId()).u64(e.getSeq()).bytes(e.getPrevHash());
    w.bytes(e.getMutation().getMutation())
        .bytes(e.getMutation().getPublicKey())
        .bytes(e.getMutation().getSignature());
    effect(w, e.getEffect());
    w.u64(e.getPolicyVersion()).bytes(e.getAnchorMapHash()).bytes(e.getDeltaHash());
    if (e.getUidTag() != 0) {
      // Appended only when set, so entries in the canonical space hash as they always did; the
      // fields before are self-delimiting, so the two forms cannot collide.
      w.u32(e.getUidTag());
    }
    return w.finish();
  }
}
