package org.anf.lineage.transition;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.kv.KeyValueView;
import org.anf.lineage.kv.StagedKv;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.OutcomeState;
import org.anf.proto.v1.RedirectState;
import org.anf.proto.v1.RevocationState;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.TxnState;
import org.jspecify.annotations.Nullable;

/**
 * One transition in progress: reads see its own writes, writes are staged, effects collected. A
 * transition either finishes and its writes are applied as one batch, or throws and nothing is.
 */
final class Tx extends ScopeState {
  final StagedKv staged;
  final SignedMutation signed;
  final Mutation m;
  final byte[] signer;
  final @Nullable ScopeMeta pre;
  final List<EffectItem> effects = new ArrayList<>();

  /** The UID space this transition allocates from (recorded in its entry). */
  final int uidTag;

  @Nullable Uid uid;

  Tx(StagedKv staged, SignedMutation signed, Mutation m, @Nullable ScopeMeta pre, int uidTag) {
    super(staged);
    this.staged = staged;
    this.signed = signed;
    this.m = m;
    this.signer = signed.getPublicKey().toByteArray();
    this.pre = pre;
    this.uidTag = uidTag;
  }

  static Tx over(KeyValueView base, SignedMutation signed, Mutation m, int uidTag) {
    StagedKv staged = new StagedKv(base);
    return new Tx(staged, signed, m, new ScopeState(base).metaOrNull(), uidTag);
  }

  ScopeMeta preMeta() {
    if (pre == null) {
      throw new AnfException(ErrorCode.UNKNOWN_SCOPE, "the scope has no genesis entry here");
    }
    return pre;
  }

  long scopeId() {
    return preMeta().getScopeId();
  }

  // --- authority ------------------------------------------------------------------------------

  void requireRight(Right right) {
    if (!Policies.hasRight(meta().getPolicy(), signer, right)) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "key "
              + Ed25519.publicKeyText(signer)
              + " does not hold "
              + right.name().substring("RIGHT_".length())
              + " in scope '"
              + scopeName()
              + "'");
    }
  }

  /** The scope's name, or its id when it has no genesis here yet. */
  String scopeNameOr(long scopeId) {
    return metaOrNull() == null ? ScopeIds.text(scopeId) : scopeName();
  }

  String scopeName() {
    ScopeMeta meta = metaOrNull();
    if (meta == null) {
      return "(no genesis)";
    }
    return meta.getPath().getText().isEmpty() ? "(root)" : meta.getPath().getText();
  }

  // --- names ----------------------------------------------------------------------------------

  Alias alias(org.anf.proto.v1.Alias a, String field) {
    if (a.getText().isEmpty()) {
      throw AnfException.invalid(field, "an alias is required");
    }
    return Alias.parse(a.getText());
  }

  /** The path relative to this scope of an alias that can be bound (no version, no opaque). */
  String rel(org.anf.proto.v1.Alias a, String field) {
    Alias alias = alias(a, field);
    if (alias.hasOpaque()) {
      throw AnfException.invalid(
          field,
          "'" + alias + "' has an opaque segment; devices are registered by name with a hash");
    }
    if (alias.version() > 0) {
      throw AnfException.invalid(
          field, "'" + alias + "' has a version suffix; versions are metadata, not names");
    }
    Alias scope = path();
    if (!scope.isPrefixOf(alias)) {
      throw AnfException.invalid(field, "'" + alias + "' is not under scope '" + scopeName() + "'");
    }
    List<String> rel = alias.relativeTo(scope);
    if (rel.isEmpty() && scope.isRoot()) {
      throw AnfException.invalid(field, "the root scope itself cannot be bound");
    }
    return Alias.joinPath(rel);
  }

  Alias full(String path) {
    return path().concat(Alias.splitPath(path));
  }

  /** Refuses when {@code path} cannot take a new name: delegated, moved, used before or locked. */
  void requireFree(String path) {
    List<String> labels = Alias.splitPath(path);
    for (int k = 1; k <= labels.size(); k++) {
      String p = Alias.joinPath(labels.subList(0, k));
      Delegation d = delegation(p);
      if (d != null) {
        throw AnfException.precondition(
            "'"
                + full(path)
                + "' is governed by child scope '"
                + d.getChild().getText()
                + "' ("
                + ScopeIds.text(d.getChildScopeId())
                + "); submit it there");
      }
      RedirectState r = redirect(p);
      if (r != null && (k < labels.size() || !r.hasUid())) {
        throw AnfException.precondition(
            "'"
                + full(p)
                + "' was moved away; names under it keep redirecting and are not reissued");
      }
    }
    Uid bound = binding(path);
    if (bound != null) {
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS, "'" + full(path) + "' is already bound to " + bound);
    }
    RedirectState r = redirect(path);
    if (r != null) {
      throw AnfException.precondition(
          "'"
              + full(path)
              + "' was bound before"
              + (r.hasUid() ? " (to " + Uid.fromProto(r.getUid()) + ")" : "")
              + "; aliases are never reissued, so old references keep resolving");
    }
    requireUnlocked(path);
  }

  void requireUnlocked(String path) {
    TxnState t = lockOn(path);
    if (t != null) {
      throw new AnfException(
          ErrorCode.LOCKED,
          "'"
              + full(path)
              + "' is locked by open "
              + t.getKind()
                  .name()
                  .substring("TXN_KIND_".length())
                  .toLowerCase(java.util.Locale.ROOT)
              + " transaction "
              + Bytes.hex(t.getTxnId().toByteArray())
              + " (opened at seq "
              + t.getOpenedSeq()
              + ")");
    }
  }

  /** The live object bound at {@code path}; NOT_FOUND when nothing is. */
  ObjectState boundObject(String path) {
    Uid u = binding(path);
    if (u == null) {
      throw new AnfException(ErrorCode.NOT_FOUND, "'" + full(path) + "' is not bound");
    }
    ObjectState o = object(u);
    if (o == null) {
      throw new AnfException(ErrorCode.CORRUPTION, "binding of '" + full(path) + "' has no object");
    }
    return o;
  }

  // --- allocation -----------------------------------------------------------------------------

  /** A fresh UID from the register of this transition's space. */
  Uid allocate() {
    return allocate(uidTag);
  }

  /**
   * A fresh UID from the register of space {@code tag} held in the scope's state: tag 0 is the
   * canonical space, each other tag the sub-space of one isolated quorum. Each register only grows,
   * and the tag is part of the UID, so spaces never collide and no UID is handed out twice.
   */
  Uid allocate(int tag) {
    if (tag < Uid.CANONICAL_TAG || tag > Uid.MAX_TAG) {
      throw AnfException.invalid("uid_tag", "a UID space tag is 0 to " + Uid.MAX_TAG);
    }
    long next = nextCounter(tag);
    if (next > Uid.MAX_COUNTER) {
      throw AnfException.precondition("the scope's UID register of space " + tag + " is exhausted");
    }
    staged.put(StateKeys.register(tag), Bytes.longBytes(next + 1));
    return Uid.of(scopeId(), tag, next);
  }

  // --- writes ---------------------------------------------------------------------------------

  void putMeta(ScopeMeta meta) {
    staged.put(StateKeys.meta(), meta.toByteArray());
  }

  void putBinding(String path, Uid u) {
    staged.put(StateKeys.path(StateKeys.BINDING, path), u.toBytes());
  }

  void deleteBinding(String path) {
    staged.delete(StateKeys.path(StateKeys.BINDING, path));
  }

  void putObject(ObjectState o) {
    staged.put(StateKeys.object(Uid.fromProto(o.getUid())), o.toByteArray());
  }

  void putRedirect(String path, RedirectState r) {
    staged.put(StateKeys.path(StateKeys.REDIRECT, path), r.toByteArray());
  }

  void deleteRedirect(String path) {
    staged.delete(StateKeys.path(StateKeys.REDIRECT, path));
  }

  void putDelegation(String path, Delegation d) {
    staged.put(StateKeys.path(StateKeys.DELEGATION, path), d.toByteArray());
  }

  void deleteDelegation(String path) {
    staged.delete(StateKeys.path(StateKeys.DELEGATION, path));
  }

  void putDevice(String hash, Uid u) {
    staged.put(StateKeys.device(hash), u.toBytes());
  }

  void deleteDevice(String hash) {
    staged.delete(StateKeys.device(hash));
  }

  void putRevocation(byte kind, byte[] value, String reason) {
    staged.put(
        StateKeys.revocation(kind, value),
        RevocationState.newBuilder().setReason(reason).setSeq(seq()).build().toByteArray());
  }

  void putTxn(TxnState t) {
    staged.put(StateKeys.txn(t.getTxnId().toByteArray()), t.toByteArray());
  }

  void deleteTxn(ByteString txnId) {
    staged.delete(StateKeys.txn(txnId.toByteArray()));
  }

  void putOutcome(byte[] mutationId, long seq) {
    staged.put(
        StateKeys.outcome(mutationId), OutcomeState.newBuilder().setSeq(seq).build().toByteArray());
  }

  RedirectState redirectToUid(Uid u) {
    return RedirectState.newBuilder().setUid(u.toProto()).setSeq(seq()).build();
  }

  private long seq;

  /** The seq the entry being built will get (the head does not move during a transition). */
  long seq() {
    if (seq == 0) {
      seq = headSeq() + 1;
    }
    return seq;
  }

  // --- effects --------------------------------------------------------------------------------

  EffectItem.Builder effect(EffectKind kind) {
    EffectItem.Builder b = EffectItem.newBuilder().setKind(kind);
    return b;
  }

  void add(EffectItem.Builder b) {
    effects.add(b.build());
  }
}
