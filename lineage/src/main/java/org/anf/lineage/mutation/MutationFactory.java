package org.anf.lineage.mutation;

import com.google.protobuf.ByteString;
import java.util.List;
import java.util.function.LongSupplier;
import java.util.random.RandomGenerator;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AddAnchor;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.Bind;
import org.anf.proto.v1.CreateScope;
import org.anf.proto.v1.Delegate;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.RegisterDevice;
import org.anf.proto.v1.RemoveAnchor;
import org.anf.proto.v1.Rename;
import org.anf.proto.v1.Revoke;
import org.anf.proto.v1.RotateDeviceHash;
import org.anf.proto.v1.RotateUid;
import org.anf.proto.v1.SetPolicy;
import org.anf.proto.v1.Split;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.Transfer;
import org.anf.proto.v1.TxnPhase;
import org.anf.proto.v1.Unbind;

/**
 * Builds unsigned mutations for clients: fresh mutation ids from the given random source (seeded in
 * tests, {@code SecureRandom} in the CLI) and the client's clock for {@code issued_at_ms}. Sign the
 * result with {@link Signing#sign}.
 */
public final class MutationFactory {
  private final RandomGenerator random;
  private final LongSupplier clockMillis;

  public MutationFactory(RandomGenerator random, LongSupplier clockMillis) {
    this.random = random;
    this.clockMillis = clockMillis;
  }

  public ByteString randomBytes(int n) {
    byte[] b = new byte[n];
    random.nextBytes(b);
    return ByteString.copyFrom(b);
  }

  public Mutation.Builder base(long scopeId) {
    return Mutation.newBuilder()
        .setScopeId(scopeId)
        .setMutationId(randomBytes(16))
        .setIssuedAtMs(clockMillis.getAsLong());
  }

  /** The genesis of a scope; its id is derived from parent, path and a fresh nonce. */
  public Mutation genesis(
      long parentScopeId,
      Alias path,
      Policy policy,
      AnchorMap anchors,
      int depth,
      List<ExportedEntry> imports,
      ByteString txnId) {
    ByteString nonce = randomBytes(16);
    return genesisWithNonce(parentScopeId, path, nonce, policy, anchors, depth, imports, txnId);
  }

  public Mutation genesisWithNonce(
      long parentScopeId,
      Alias path,
      ByteString nonce,
      Policy policy,
      AnchorMap anchors,
      int depth,
      List<ExportedEntry> imports,
      ByteString txnId) {
    long id = ScopeIds.derive(parentScopeId, path, nonce.toByteArray());
    return base(id)
        .setCreateScope(
            CreateScope.newBuilder()
                .setPath(path.toProto())
                .setParentScopeId(parentScopeId)
                .setNonce(nonce)
                .setPolicy(policy)
                .setAnchors(anchors)
                .setDepth(depth)
                .addAllImports(imports)
                .setTxnId(txnId))
        .build();
  }

  public Mutation delegate(long scopeId, Delegation delegation) {
    return base(scopeId).setDelegate(Delegate.newBuilder().setDelegation(delegation)).build();
  }

  /**
   * A delegation that carries the child's genesis policy, so the parent records its fuse ({@code
   * parent_may_reclaim}) and refuses to take back a child whose policy does not allow it.
   */
  public Mutation delegate(long scopeId, Delegation delegation, Policy childPolicy) {
    return base(scopeId)
        .setDelegate(Delegate.newBuilder().setDelegation(delegation).setChildPolicy(childPolicy))
        .build();
  }

  public Mutation bind(long scopeId, Alias alias, ObjectRecord record) {
    return base(scopeId)
        .setBind(Bind.newBuilder().setAlias(alias.toProto()).setRecord(record))
        .build();
  }

  public Mutation unbind(long scopeId, Alias alias) {
    return base(scopeId).setUnbind(Unbind.newBuilder().setAlias(alias.toProto())).build();
  }

  public Mutation rename(long scopeId, Alias from, Alias to) {
    return base(scopeId)
        .setRename(Rename.newBuilder().setFrom(from.toProto()).setTo(to.toProto()))
        .build();
  }

  public Mutation moveLocal(long scopeId, Alias from, Alias to) {
    return base(scopeId)
        .setMove(
            Move.newBuilder()
                .setFrom(from.toProto())
                .setTo(to.toProto())
                .setPhase(TxnPhase.TXN_PHASE_LOCAL))
        .build();
  }

  public Mutation movePrepare(
      long scopeId, MoveRole role, Alias from, Alias to, ByteString txnId, long peerScopeId) {
    return base(scopeId)
        .setMove(
            Move.newBuilder()
                .setFrom(from.toProto())
                .setTo(to.toProto())
                .setPhase(TxnPhase.TXN_PHASE_PREPARE)
                .setRole(role)
                .setTxnId(txnId)
                .setPeerScopeId(peerScopeId))
        .build();
  }

  public Mutation moveCommit(long scopeId, ByteString txnId, List<ExportedEntry> entries) {
    return base(scopeId)
        .setMove(
            Move.newBuilder()
                .setPhase(TxnPhase.TXN_PHASE_COMMIT)
                .setTxnId(txnId)
                .addAllEntries(entries))
        .build();
  }

  public Mutation moveAbort(long scopeId, ByteString txnId) {
    return base(scopeId)
        .setMove(Move.newBuilder().setPhase(TxnPhase.TXN_PHASE_ABORT).setTxnId(txnId))
        .build();
  }

  /** A child of a split: its id derived from the parent, its alias and a fresh nonce. */
  public SplitChild splitChild(
      long parentScopeId, Alias parentPath, String label, AnchorMap anchors, Policy policy) {
    ByteString nonce = randomBytes(16);
    return SplitChild.newBuilder()
        .setLabel(label)
        .setNonce(nonce)
        .setChildScopeId(
            ScopeIds.derive(parentScopeId, parentPath.concat(List.of(label)), nonce.toByteArray()))
        .setAnchors(anchors)
        .setPolicy(policy)
        .build();
  }

  public Mutation split(long scopeId, TxnPhase phase, ByteString txnId, List<SplitChild> children) {
    return base(scopeId)
        .setSplit(Split.newBuilder().setPhase(phase).setTxnId(txnId).addAllChildren(children))
        .build();
  }

  public Mutation merge(
      long scopeId,
      MergeRole role,
      TxnPhase phase,
      ByteString txnId,
      long childScopeId,
      Alias child,
      List<ExportedEntry> entries,
      long childSeq,
      ByteString childHead) {
    return base(scopeId)
        .setMerge(
            Merge.newBuilder()
                .setRole(role)
                .setPhase(phase)
                .setTxnId(txnId)
                .setChildScopeId(childScopeId)
                .setChild(child.toProto())
                .addAllEntries(entries)
                .setChildLineageSeq(childSeq)
                .setChildLineageHash(childHead))
        .build();
  }

  public Mutation transfer(long scopeId, List<byte[]> newOwners, boolean clearGrants) {
    Transfer.Builder t = Transfer.newBuilder().setClearGrants(clearGrants);
    newOwners.forEach(k -> t.addNewOwnerKeys(ByteString.copyFrom(k)));
    return base(scopeId).setTransfer(t).build();
  }

  public Mutation rotateUid(long scopeId, Alias alias) {
    return base(scopeId).setRotateUid(RotateUid.newBuilder().setAlias(alias.toProto())).build();
  }

  public Mutation setPolicy(long scopeId, Policy policy) {
    return base(scopeId).setSetPolicy(SetPolicy.newBuilder().setPolicy(policy)).build();
  }

  public Mutation addAnchor(long scopeId, AnchorInfo anchor) {
    return base(scopeId).setAddAnchor(AddAnchor.newBuilder().setAnchor(anchor)).build();
  }

  public Mutation removeAnchor(long scopeId, String anchorId) {
    return base(scopeId).setRemoveAnchor(RemoveAnchor.newBuilder().setAnchorId(anchorId)).build();
  }

  public Mutation registerDevice(
      long scopeId, Alias alias, String hash, byte[] deviceKey, ObjectRecord record) {
    return base(scopeId)
        .setRegisterDevice(
            RegisterDevice.newBuilder()
                .setAlias(alias.toProto())
                .setDeviceHash(hash)
                .setDeviceKey(ByteString.copyFrom(deviceKey))
                .setRecord(record))
        .build();
  }

  public Mutation rotateDeviceHash(long scopeId, String previous, String next) {
    return base(scopeId)
        .setRotateDeviceHash(
            RotateDeviceHash.newBuilder().setPreviousHash(previous).setNewHash(next))
        .build();
  }

  public Mutation revokeDevice(long scopeId, String hash, String reason) {
    return base(scopeId)
        .setRevoke(Revoke.newBuilder().setDeviceHash(hash).setReason(reason))
        .build();
  }

  public Mutation revokeUid(long scopeId, Uid uid, String reason) {
    return base(scopeId)
        .setRevoke(Revoke.newBuilder().setUid(uid.toProto()).setReason(reason))
        .build();
  }

  public Mutation revokeKey(long scopeId, byte[] key, String reason) {
    return base(scopeId)
        .setRevoke(Revoke.newBuilder().setPublicKey(ByteString.copyFrom(key)).setReason(reason))
        .build();
  }
}
