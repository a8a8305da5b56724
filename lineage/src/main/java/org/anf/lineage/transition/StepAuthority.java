package org.anf.lineage.transition;

import com.google.protobuf.ByteString;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.CreateScope;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.Split;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.TxnPhase;

/**
 * Who may take a step of a cross-scope protocol. A key that holds the right under the scope's
 * policy may take any step itself. Otherwise an anchor of the scope takes it on a client's behalf:
 * an intent (PREPARE, or a split child's genesis) must carry the client's signed request, which
 * names the same transaction and the same entries and whose key holds the right here; a commit or
 * an abort needs only the anchor, since the intent it finishes was authorized. The anchor path is
 * what lets a node finish a transaction after a crash, when the client is long gone.
 *
 * <p>The ENS-fuse rule lives here too, checked on both sides. The child's side of a merge goes on
 * only if the requester holds MERGE in the child or the child's policy says {@code
 * parent_may_reclaim}. The parent's side ({@link #requireReclaimable}) reads the fuse the parent
 * recorded in its delegation when it delegated: a move of a subtree that holds such a child (within
 * the scope or to another) or the parent's side of its merge is refused when the child was recorded
 * with {@code parent_may_reclaim = false}, whoever asks and whatever rights they hold here, since
 * the parent cannot check anyone's rights in the child. The child's policy cannot change the flag
 * afterwards, so the two records agree. (A split or a merge of an intermediate scope carries the
 * delegation, fuse included, to the new parent under the same name: not a reclaim.)
 */
final class StepAuthority {
  private StepAuthority() {}

  static void move(Tx tx, Move body) {
    if (holds(tx.meta().getPolicy(), tx.signer, Right.RIGHT_MOVE)) {
      return;
    }
    if (body.getPhase() == TxnPhase.TXN_PHASE_LOCAL) {
      tx.requireRight(Right.RIGHT_MOVE);
    }
    if (body.getPhase() != TxnPhase.TXN_PHASE_PREPARE) {
      requireAnchor(tx, tx.meta().getAnchors(), Right.RIGHT_MOVE);
      return;
    }
    Mutation req = request(tx, tx.meta().getAnchors(), body.getTxnId(), Mutation.KindCase.MOVE);
    Move r = req.getMove();
    if (body.getRole() == MoveRole.MOVE_ROLE_CHILD) {
      reparent(tx, body, req);
      return;
    }
    boolean source = body.getRole() == MoveRole.MOVE_ROLE_SOURCE;
    long src = source ? tx.scopeId() : body.getPeerScopeId();
    long dst = source ? body.getPeerScopeId() : tx.scopeId();
    if (!r.getFrom().equals(body.getFrom())
        || !r.getTo().equals(body.getTo())
        || req.getScopeId() != src
        || r.getPeerScopeId() != dst) {
      throw mismatch("move");
    }
    requireRequester(tx, tx.meta().getPolicy(), Right.RIGHT_MOVE);
  }

  /**
   * A child scope's re-parent intent, taken by an anchor: the request must move a subtree that
   * holds this scope, to the place this step names. A direct child of the source goes only if its
   * policy lets the parent take it back or the requester holds MOVE in it (the ENS-fuse rule, as
   * for a merge); a scope further down keeps its parent and follows it.
   */
  private static void reparent(Tx tx, Move body, Mutation req) {
    Move r = req.getMove();
    Alias from;
    Alias to;
    Alias reqFrom;
    Alias reqTo;
    try {
      from = Alias.fromProto(body.getFrom());
      to = Alias.fromProto(body.getTo());
      reqFrom = Alias.fromProto(r.getFrom());
      reqTo = Alias.fromProto(r.getTo());
    } catch (AnfException e) {
      throw mismatch("move");
    }
    if (!reqFrom.isPrefixOf(from) || !to.equals(reqTo.concat(from.relativeTo(reqFrom)))) {
      throw mismatch("move");
    }
    ScopeMeta meta = tx.meta();
    boolean direct = meta.getParentScopeId() == req.getScopeId();
    long parentAfter = direct ? r.getPeerScopeId() : meta.getParentScopeId();
    if (body.getPeerScopeId() != parentAfter) {
      throw mismatch("move");
    }
    byte[] requester = tx.m.getAuthorization().getPublicKey().toByteArray();
    Policy policy = meta.getPolicy();
    if (direct && !policy.getParentMayReclaim() && !holds(policy, requester, Right.RIGHT_MOVE)) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "scope '"
              + tx.scopeName()
              + "' does not let its parent move it (parent_may_reclaim is false in its policy) and"
              + " key "
              + Ed25519.publicKeyText(requester)
              + " holds no MOVE right in it");
    }
  }

  static void split(Tx tx, Split body) {
    if (holds(tx.meta().getPolicy(), tx.signer, Right.RIGHT_SPLIT)) {
      return;
    }
    if (body.getPhase() != TxnPhase.TXN_PHASE_PREPARE) {
      requireAnchor(tx, tx.meta().getAnchors(), Right.RIGHT_SPLIT);
      return;
    }
    Mutation req = request(tx, tx.meta().getAnchors(), body.getTxnId(), Mutation.KindCase.SPLIT);
    if (req.getScopeId() != tx.scopeId()
        || !req.getSplit().getChildrenList().equals(body.getChildrenList())) {
      throw mismatch("split");
    }
    requireRequester(tx, tx.meta().getPolicy(), Right.RIGHT_SPLIT);
  }

  static void merge(Tx tx, Merge body) {
    Policy policy = tx.meta().getPolicy();
    if (holds(policy, tx.signer, Right.RIGHT_MERGE)) {
      return;
    }
    if (body.getPhase() != TxnPhase.TXN_PHASE_PREPARE) {
      requireAnchor(tx, tx.meta().getAnchors(), Right.RIGHT_MERGE);
      return;
    }
    Mutation req = request(tx, tx.meta().getAnchors(), body.getTxnId(), Mutation.KindCase.MERGE);
    Merge r = req.getMerge();
    boolean child = body.getRole() == MergeRole.MERGE_ROLE_CHILD;
    long parent = child ? tx.meta().getParentScopeId() : tx.scopeId();
    if (r.getChildScopeId() != body.getChildScopeId()
        || !r.getChild().equals(body.getChild())
        || req.getScopeId() != parent) {
      throw mismatch("merge");
    }
    byte[] requester = tx.m.getAuthorization().getPublicKey().toByteArray();
    if (child && !holds(policy, requester, Right.RIGHT_MERGE)) {
      if (!policy.getParentMayReclaim()) {
        throw new AnfException(
            ErrorCode.NOT_AUTHORIZED,
            "scope '"
                + tx.scopeName()
                + "' does not let its parent take it back (parent_may_reclaim is false in its"
                + " policy) and key "
                + Ed25519.publicKeyText(requester)
                + " holds no MERGE right in it");
      }
      // The parent's own step checks the requester's MERGE right in the parent.
      return;
    }
    requireRequester(tx, policy, Right.RIGHT_MERGE);
  }

  /** The genesis of a split child, taken by an anchor on the splitting client's behalf. */
  static void genesis(Tx tx, CreateScope c, Policy policy, AnchorMap anchors) {
    Mutation req = request(tx, anchors, c.getTxnId(), Mutation.KindCase.SPLIT);
    boolean named = false;
    for (SplitChild child : req.getSplit().getChildrenList()) {
      if (child.getChildScopeId() == tx.m.getScopeId()
          && child.getNonce().equals(c.getNonce())
          && child.getAnchors().equals(c.getAnchors())
          && child.getPolicy().equals(c.getPolicy())) {
        named = true;
      }
    }
    if (!named || req.getScopeId() != c.getParentScopeId()) {
      throw mismatch("create_scope");
    }
    requireRequester(tx, policy, Right.RIGHT_CREATE_SCOPE);
  }

  /**
   * Refuses when the subtree at {@code root} (relative to this scope) holds a delegation whose
   * recorded fuse says the parent may not take the child back. {@code action} says what was asked,
   * for the reason ("move 'svc@a'").
   */
  static void requireReclaimable(Tx tx, String root, String action) {
    tx.scanSubtree(
        StateKeys.DELEGATION,
        root,
        (k, v) -> {
          requireReclaimable(tx, ScopeState.parse(v, Delegation.parser()), action);
          return true;
        });
  }

  static void requireReclaimable(Tx tx, Delegation d, String action) {
    if (d.hasParentMayReclaim() && !d.getParentMayReclaim()) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "cannot "
              + action
              + ": '"
              + d.getChild().getText()
              + "' is delegated to scope "
              + ScopeIds.text(d.getChildScopeId())
              + ", whose policy does not let its parent take it back (parent_may_reclaim is false,"
              + " as recorded when it was delegated)");
    }
  }

  private static boolean holds(Policy policy, byte[] key, Right right) {
    return Policies.hasRight(policy, key, right);
  }

  /**
   * The client's request the step carries, checked: signed, not by a revoked key, of the step's
   * kind, naming the transaction; the step itself must come from an anchor of the scope.
   */
  private static Mutation request(
      Tx tx, AnchorMap anchors, ByteString txnId, Mutation.KindCase kind) {
    if (!tx.m.hasAuthorization()) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "key "
              + Ed25519.publicKeyText(tx.signer)
              + " does not hold "
              + kind.name()
              + " in scope '"
              + tx.scopeNameOr(tx.m.getScopeId())
              + "' and the step carries no signed request from a key that does");
    }
    requireAnchor(tx, anchors, null);
    SignedMutation a = tx.m.getAuthorization();
    Transitions.verifySignature(a);
    Mutation req = Transitions.parse(a);
    if (!req.getMutationId().equals(txnId)) {
      throw AnfException.invalid(
          "authorization", "the request's mutation id is not the transaction id of this step");
    }
    if (req.getKindCase() != kind) {
      throw AnfException.invalid(
          "authorization", "the request is a " + req.getKindCase() + ", not a " + kind);
    }
    if (tx.keyRevocation(a.getPublicKey().toByteArray()) != null) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "the request's key "
              + Ed25519.publicKeyText(a.getPublicKey().toByteArray())
              + " is revoked in this scope");
    }
    return req;
  }

  private static void requireRequester(Tx tx, Policy policy, Right right) {
    byte[] requester = tx.m.getAuthorization().getPublicKey().toByteArray();
    if (!Policies.hasRight(policy, requester, right)) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "the request's key "
              + Ed25519.publicKeyText(requester)
              + " does not hold "
              + right.name().substring("RIGHT_".length())
              + " in scope '"
              + tx.scopeNameOr(tx.m.getScopeId())
              + "'");
    }
  }

  private static void requireAnchor(
      Tx tx, AnchorMap anchors, @org.jspecify.annotations.Nullable Right right) {
    ByteString signer = ByteString.copyFrom(tx.signer);
    for (AnchorInfo a : anchors.getAnchorsList()) {
      if (!a.getPublicKey().isEmpty() && a.getPublicKey().equals(signer)) {
        return;
      }
    }
    throw new AnfException(
        ErrorCode.NOT_AUTHORIZED,
        "key "
            + Ed25519.publicKeyText(tx.signer)
            + (right == null
                ? ""
                : " does not hold " + right.name().substring("RIGHT_".length()) + " and")
            + " is not an anchor of scope "
            + ScopeIds.text(tx.m.getScopeId()));
  }

  private static AnfException mismatch(String what) {
    return AnfException.invalid(
        "authorization", "the signed request does not name this " + what + " step");
  }
}
