package org.anf.lineage.transition;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import org.anf.lineage.chain.Canonical;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.kv.KeyValueView;
import org.anf.lineage.kv.WriteSet;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Effect;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.TxnPhase;

/**
 * Applies one signed mutation to a scope's state: validate (form, signature, the signer's right
 * under the scope's policy, preconditions), then compute the writes and the lineage entry. Pure and
 * deterministic: no clock, no randomness, no I/O, so every replica and every replay computes the
 * same entry and the same writes.
 *
 * <p>A refusal changes nothing and says why. Only a stored record that fails to parse escapes as an
 * exception ({@link ErrorCode#CORRUPTION}): that replica must stop rather than diverge.
 */
public final class Transitions {
  /** Largest serialized mutation accepted (entries carried by a split or merge included). */
  public static final int MAX_MUTATION_BYTES = 8 << 20;

  public static final int MUTATION_ID_BYTES = 16;
  public static final int MAX_JUSTIFICATION_CHARS = 4096;

  /** Whether to check the Ed25519 signature, or trust that the caller checked it already. */
  public enum Verify {
    SIGNATURE,
    /** The leader verified it before the mutation entered the Raft log. */
    ALREADY_VERIFIED
  }

  private Transitions() {}

  /** Applies a mutation canonically: every UID it allocates comes from the canonical space. */
  public static Outcome apply(KeyValueView state, SignedMutation signed, Verify verify) {
    return apply(state, signed, verify, Uid.CANONICAL_TAG);
  }

  /**
   * Applies a mutation whose UIDs come from the register of space {@code uidTag} in the scope's
   * state: 0 is the canonical space; a non-zero tag is the sub-space reserved for one isolated
   * quorum, for the provisional path (an overlay applies a provisional mutation with its quorum's
   * tag, and reconciliation replays it canonically with the same tag, so the UID acknowledged to
   * the client stays its UID). The entry records the tag, and {@link #replay} allocates from the
   * same register, so replaying a lineage reproduces every UID.
   */
  public static Outcome apply(
      KeyValueView state, SignedMutation signed, Verify verify, int uidTag) {
    try {
      if (uidTag < Uid.CANONICAL_TAG || uidTag > Uid.MAX_TAG) {
        throw AnfException.invalid("uid_tag", "a UID space tag is 0 to " + Uid.MAX_TAG);
      }
      return applyOrThrow(state, signed, verify, uidTag);
    } catch (AnfException e) {
      if (e.code() == ErrorCode.CORRUPTION) {
        throw e;
      }
      return new Outcome.Refused(e);
    } catch (RuntimeException e) {
      // A bug hit by some input: deterministic on every replica, so refusing is safe, and an
      // anchor must not crash on a request.
      return new Outcome.Refused(
          new AnfException(ErrorCode.INTERNAL, "internal error applying mutation: " + e, e));
    }
  }

  /** Re-applies a lineage entry's mutation in the UID space the entry records. */
  public static Outcome replay(KeyValueView state, LineageEntry entry, Verify verify) {
    return apply(state, entry.getMutation(), verify, entry.getUidTag());
  }

  /** Parses the mutation inside a signed envelope, with a clear error when it does not parse. */
  public static Mutation parse(SignedMutation signed) {
    if (signed.getMutation().size() > MAX_MUTATION_BYTES) {
      throw new AnfException(
          ErrorCode.TOO_LARGE,
          "mutation is "
              + signed.getMutation().size()
              + " bytes; the limit is "
              + MAX_MUTATION_BYTES);
    }
    try {
      return Mutation.parseFrom(signed.getMutation());
    } catch (InvalidProtocolBufferException e) {
      throw AnfException.invalid(
          "mutation", "does not parse as anf.v1.Mutation: " + e.getMessage());
    }
  }

  /** Checks presence and validity of the signature; throws with the reason when it fails. */
  public static void verifySignature(SignedMutation signed) {
    if (signed.getSignature().isEmpty() || signed.getPublicKey().isEmpty()) {
      throw new AnfException(
          ErrorCode.MISSING_SIGNATURE, "the mutation carries no signature or no public key");
    }
    if (!Ed25519.isValidPublicKey(signed.getPublicKey().toByteArray())) {
      throw new AnfException(
          ErrorCode.BAD_SIGNATURE,
          "the public key is not a valid Ed25519 key (32 bytes, full order)");
    }
    if (!Signing.verify(signed)) {
      throw new AnfException(
          ErrorCode.BAD_SIGNATURE,
          "the signature does not verify for key "
              + Ed25519.publicKeyText(signed.getPublicKey().toByteArray()));
    }
  }

  private static Outcome applyOrThrow(
      KeyValueView state, SignedMutation signed, Verify verify, int uidTag) {
    Mutation m = parse(signed);
    if (signed.getSignature().isEmpty() || signed.getPublicKey().isEmpty()) {
      throw new AnfException(
          ErrorCode.MISSING_SIGNATURE, "the mutation carries no signature or no public key");
    }
    if (verify == Verify.SIGNATURE) {
      verifySignature(signed);
    }
    if (m.getMutationId().size() != MUTATION_ID_BYTES) {
      throw AnfException.invalid("mutation_id", "a mutation id is 16 bytes");
    }
    if (m.getJustification().length() > MAX_JUSTIFICATION_CHARS) {
      throw AnfException.invalid("justification", "at most 4,096 characters");
    }
    if (m.getKindCase() == Mutation.KindCase.KIND_NOT_SET) {
      throw AnfException.invalid("mutation", "no mutation kind is set");
    }
    Tx tx = Tx.over(state, signed, m, uidTag);
    byte[] mid = m.getMutationId().toByteArray();
    if (m.getKindCase() == Mutation.KindCase.CREATE_SCOPE) {
      if (tx.pre != null && tx.pre.getScopeId() == m.getScopeId() && tx.outcome(mid) > 0) {
        return duplicate(tx, mid);
      }
    } else {
      ScopeMeta meta = tx.preMeta();
      if (meta.getScopeId() != m.getScopeId()) {
        throw new AnfException(
            ErrorCode.UNKNOWN_SCOPE,
            "mutation for scope "
                + ScopeIds.text(m.getScopeId())
                + " reached scope "
                + ScopeIds.text(meta.getScopeId()));
      }
      if (tx.outcome(mid) > 0) {
        return duplicate(tx, mid);
      }
      checkScopeAccepts(tx, meta, m);
    }
    dispatch(tx, m);
    return finish(tx);
  }

  private static void checkScopeAccepts(Tx tx, ScopeMeta meta, Mutation m) {
    if (m.getExpectedPolicyVersion() != 0
        && m.getExpectedPolicyVersion() != meta.getPolicy().getVersion()) {
      throw AnfException.precondition(
          "expected policy version "
              + m.getExpectedPolicyVersion()
              + " but the scope is at "
              + meta.getPolicy().getVersion());
    }
    if (meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_SEALED) {
      throw AnfException.precondition(
          "scope '" + tx.scopeName() + "' was merged into its parent and accepts no mutations");
    }
    if (meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_FROZEN) {
      boolean mergeStep =
          m.hasMerge()
              && m.getMerge().getRole() == MergeRole.MERGE_ROLE_CHILD
              && m.getMerge().getPhase() != TxnPhase.TXN_PHASE_PREPARE;
      if (!mergeStep) {
        throw new AnfException(
            ErrorCode.LOCKED,
            "scope '" + tx.scopeName() + "' is frozen by a merge into its parent");
      }
    }
    if (tx.keyRevocation(tx.signer) != null) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "key " + Ed25519.publicKeyText(tx.signer) + " is revoked in this scope");
    }
  }

  private static void dispatch(Tx tx, Mutation m) {
    switch (m.getKindCase()) {
      case CREATE_SCOPE -> ScopeTransitions.createScope(tx, m.getCreateScope());
      case DELEGATE -> ScopeTransitions.delegate(tx, m.getDelegate());
      case BIND -> BindingTransitions.bind(tx, m.getBind());
      case UNBIND -> BindingTransitions.unbind(tx, m.getUnbind());
      case RENAME -> BindingTransitions.rename(tx, m.getRename());
      case MOVE -> StructureTransitions.move(tx, m.getMove());
      case SPLIT -> StructureTransitions.split(tx, m.getSplit());
      case MERGE -> StructureTransitions.merge(tx, m.getMerge());
      case TRANSFER -> ScopeTransitions.transfer(tx, m.getTransfer());
      case ROTATE_UID -> BindingTransitions.rotateUid(tx, m.getRotateUid());
      case SET_POLICY -> ScopeTransitions.setPolicy(tx, m.getSetPolicy());
      case ADD_ANCHOR -> ScopeTransitions.addAnchor(tx, m.getAddAnchor());
      case REMOVE_ANCHOR -> ScopeTransitions.removeAnchor(tx, m.getRemoveAnchor());
      case REGISTER_DEVICE -> DeviceTransitions.registerDevice(tx, m.getRegisterDevice());
      case ROTATE_DEVICE_HASH -> DeviceTransitions.rotateDeviceHash(tx, m.getRotateDeviceHash());
      case REVOKE -> DeviceTransitions.revoke(tx, m.getRevoke());
      case KIND_NOT_SET -> throw AnfException.invalid("mutation", "no mutation kind is set");
    }
  }

  private static Outcome duplicate(Tx tx, byte[] mid) {
    LineageEntry first = tx.lineage(tx.outcome(mid));
    if (first == null) {
      // Lineage compacted: the mutation is known applied, its entry is gone.
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS,
          "mutation " + Bytes.hex(mid) + " was applied at seq " + tx.outcome(mid));
    }
    return new Outcome.Duplicate(first);
  }

  private static Outcome finish(Tx tx) {
    // The policy and anchors the mutation was validated against: the pre-state's, or for a
    // genesis the ones it establishes.
    ScopeMeta inForce = tx.pre != null ? tx.pre : tx.meta();
    long seq = tx.seq();
    WriteSet delta = tx.staged.writes();
    LineageEntry unsigned =
        LineageEntry.newBuilder()
            .setScopeId(tx.m.getScopeId())
            .setSeq(seq)
            .setPrevHash(ByteString.copyFrom(tx.headHash()))
            .setMutation(tx.signed)
            .setEffect(Effect.newBuilder().addAllItems(tx.effects))
            .setPolicyVersion(inForce.getPolicy().getVersion())
            .setAnchorMapHash(ByteString.copyFrom(Canonical.anchorMapHash(inForce.getAnchors())))
            .setDeltaHash(ByteString.copyFrom(delta.hash()))
            .setUidTag(tx.uidTag)
            .build();
    byte[] hash = Canonical.entryHash(unsigned);
    LineageEntry entry = unsigned.toBuilder().setHash(ByteString.copyFrom(hash)).build();
    tx.staged.put(StateKeys.lineage(seq), entry.toByteArray());
    tx.staged.put(StateKeys.head(), Bytes.concat(Bytes.longBytes(seq), hash));
    tx.putOutcome(tx.m.getMutationId().toByteArray(), seq);
    return new Outcome.Applied(tx.staged.writes(), entry, tx.uid);
  }
}
