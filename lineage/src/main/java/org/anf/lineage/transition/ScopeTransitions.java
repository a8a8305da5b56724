package org.anf.lineage.transition;

import java.util.HashSet;
import java.util.Set;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.chain.Canonical;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.AddAnchor;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.CreateScope;
import org.anf.proto.v1.Delegate;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.RemoveAnchor;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SetPolicy;
import org.anf.proto.v1.Transfer;

/** Transitions that govern the scope itself: genesis, delegation, policy, owners, anchors. */
final class ScopeTransitions {
  static final int MAX_NONCE_BYTES = 64;

  private ScopeTransitions() {}

  static void createScope(Tx tx, CreateScope c) {
    if (tx.pre != null) {
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS, "scope '" + tx.scopeName() + "' already has its genesis");
    }
    Alias path = Alias.fromProto(c.getPath());
    if (path.hasOpaque() || path.version() > 0) {
      throw AnfException.invalid("create_scope.path", "a scope path has no version or opaque part");
    }
    if (path.isRoot() != (c.getParentScopeId() == 0)) {
      throw AnfException.invalid(
          "create_scope.parent_scope_id", "the root has no parent and every other scope has one");
    }
    if (c.getNonce().isEmpty() || c.getNonce().size() > MAX_NONCE_BYTES) {
      throw AnfException.invalid("create_scope.nonce", "the nonce is 1 to 64 bytes");
    }
    long derived = ScopeIds.derive(c.getParentScopeId(), path, c.getNonce().toByteArray());
    if (derived != tx.m.getScopeId()) {
      throw AnfException.invalid(
          "scope_id",
          "scope id "
              + ScopeIds.text(tx.m.getScopeId())
              + " is not the one derived from parent, path and nonce ("
              + ScopeIds.text(derived)
              + ")");
    }
    Policy policy = c.getPolicy().toBuilder().setVersion(1).build();
    Policies.validate(policy);
    AnchorMap anchors = c.getAnchors().toBuilder().setVersion(1).build();
    validateAnchors(anchors, Math.max(1, policy.getMinAnchors()));
    if (!Policies.hasRight(policy, tx.signer, Right.RIGHT_CREATE_SCOPE)
        && !c.getTxnId().isEmpty()) {
      StepAuthority.genesis(tx, c, policy, anchors);
    } else if (!Policies.hasRight(policy, tx.signer, Right.RIGHT_CREATE_SCOPE)) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "key "
              + Ed25519.publicKeyText(tx.signer)
              + " is neither an owner of the new scope nor holds CREATE_SCOPE in its policy");
    }
    ScopeMeta meta =
        ScopeMeta.newBuilder()
            .setScopeId(tx.m.getScopeId())
            .setPath(path.toProto())
            .setParentScopeId(c.getParentScopeId())
            .setDepth(c.getDepth())
            .setLifecycle(ScopeLifecycle.SCOPE_LIFECYCLE_ACTIVE)
            .setAnchors(anchors)
            .setPolicy(policy)
            .build();
    tx.putMeta(meta);
    for (ExportedEntry e : c.getImportsList()) {
      StructureTransitions.importEntry(tx, "", e);
    }
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_SCOPE_CREATED)
            .setAlias(path.toProto())
            .setDetail(
                "scope "
                    + ScopeIds.text(tx.m.getScopeId())
                    + (c.getImportsCount() > 0
                        ? ", " + c.getImportsCount() + " entries imported"
                        : "")));
  }

  static void validateAnchors(AnchorMap anchors, int min) {
    if (anchors.getAnchorsCount() < min) {
      throw AnfException.invalid(
          "anchors",
          "the group needs at least " + min + " anchors, got " + anchors.getAnchorsCount());
    }
    Set<String> ids = new HashSet<>();
    for (AnchorInfo a : anchors.getAnchorsList()) {
      validateAnchor(a);
      if (!ids.add(a.getId())) {
        throw AnfException.invalid("anchors", "anchor id '" + a.getId() + "' repeats");
      }
    }
  }

  static void validateAnchor(AnchorInfo a) {
    if (a.getId().isEmpty()
        || a.getId().length() > 64
        || !a.getId().chars().allMatch(c -> Character.isLetterOrDigit(c) || c == '-' || c == '_')) {
      throw AnfException.invalid(
          "anchor.id",
          "an anchor id is 1 to 64 letters, digits, '-' or '_', got '" + a.getId() + "'");
    }
    if (!a.getAddress().matches("[A-Za-z0-9.\\-\\[\\]:]+:[0-9]{1,5}")) {
      throw AnfException.invalid(
          "anchor.address", "anchor address '" + a.getAddress() + "' is not host:port");
    }
    if (!a.getPublicKey().isEmpty() && !Ed25519.isValidPublicKey(a.getPublicKey().toByteArray())) {
      throw AnfException.invalid("anchor.public_key", "not a valid Ed25519 key");
    }
  }

  static void delegate(Tx tx, Delegate body) {
    tx.requireRight(Right.RIGHT_DELEGATE);
    Delegation d = body.getDelegation();
    String path = tx.rel(d.getChild(), "delegation.child");
    if (path.isEmpty()) {
      throw AnfException.invalid("delegation.child", "a child scope must be below its parent");
    }
    if (d.getChildScopeId() == 0) {
      throw AnfException.invalid("delegation.child_scope_id", "the child's scope id is required");
    }
    if (d.getPolicyDigest().size() != 32) {
      throw AnfException.invalid("delegation.policy_digest", "the policy digest is 32 bytes");
    }
    validateAnchors(d.getAnchors(), 1);
    if (d.hasParentMayReclaim()) {
      throw AnfException.invalid(
          "delegation.parent_may_reclaim",
          "the parent records the fuse itself, from delegate.child_policy; do not set it");
    }
    Delegation.Builder record = d.toBuilder();
    if (body.hasChildPolicy()) {
      Policy child = body.getChildPolicy();
      Policies.validate(child);
      if (!Policies.matchesDelegation(d, child)) {
        throw AnfException.invalid(
            "delegate.child_policy",
            "its genesis digest is not delegation.policy_digest; the child's genesis would not"
                + " match what the parent records");
      }
      record.setParentMayReclaim(child.getParentMayReclaim());
    }
    tx.requireFree(path);
    if (tx.hasEntriesAtOrUnder(path)) {
      throw AnfException.precondition(
          "entries exist under '" + tx.full(path) + "'; split them into the child instead");
    }
    ScopeMeta meta = tx.meta();
    int depth = meta.getDepth() + 1;
    int maxDepth = meta.getPolicy().getMaxDepth();
    if (maxDepth > 0 && depth > maxDepth) {
      throw AnfException.precondition(
          "a child of '"
              + tx.scopeName()
              + "' would be at depth "
              + depth
              + "; policy allows "
              + maxDepth);
    }
    Delegation stored = record.setChild(tx.full(path).toProto()).setDepth(depth).build();
    tx.putDelegation(path, stored);
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_DELEGATED)
            .setAlias(stored.getChild())
            .setDetail(
                "child scope "
                    + ScopeIds.text(d.getChildScopeId())
                    + (stored.hasParentMayReclaim()
                        ? stored.getParentMayReclaim()
                            ? ", parent may reclaim"
                            : ", emancipated (parent may not reclaim)"
                        : "")));
  }

  static void setPolicy(Tx tx, SetPolicy body) {
    tx.requireRight(Right.RIGHT_SET_POLICY);
    ScopeMeta meta = tx.meta();
    Policy p = body.getPolicy().toBuilder().setVersion(meta.getPolicy().getVersion() + 1).build();
    Policies.validate(p);
    if (meta.getParentScopeId() != 0
        && p.getParentMayReclaim() != meta.getPolicy().getParentMayReclaim()) {
      // The parent recorded the fuse when it delegated and decides from its own record whether it
      // may take the child back; a change here would make the two disagree.
      throw AnfException.precondition(
          "parent_may_reclaim is fixed when a scope is delegated (its parent recorded it, like an"
              + " ENS fuse); scope '"
              + tx.scopeName()
              + "' keeps parent_may_reclaim = "
              + meta.getPolicy().getParentMayReclaim());
    }
    if (Math.max(1, p.getMinAnchors()) > meta.getAnchors().getAnchorsCount()) {
      throw AnfException.precondition(
          "policy needs "
              + p.getMinAnchors()
              + " anchors; the group has "
              + meta.getAnchors().getAnchorsCount());
    }
    tx.putMeta(meta.toBuilder().setPolicy(p).build());
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_POLICY_SET)
            .setDetail(
                "policy v"
                    + p.getVersion()
                    + " digest "
                    + org.anf.lineage.kv.Bytes.hex(Canonical.policyDigest(p)).substring(0, 16)));
  }

  static void transfer(Tx tx, Transfer body) {
    tx.requireRight(Right.RIGHT_TRANSFER);
    ScopeMeta meta = tx.meta();
    Policy.Builder p =
        meta.getPolicy().toBuilder()
            .clearOwnerKeys()
            .addAllOwnerKeys(body.getNewOwnerKeysList())
            .setVersion(meta.getPolicy().getVersion() + 1);
    if (body.getClearGrants()) {
      p.clearGrants();
    }
    Policy policy = p.build();
    Policies.validate(policy);
    tx.putMeta(meta.toBuilder().setPolicy(policy).build());
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_OWNERS_TRANSFERRED)
            .setDetail(
                body.getNewOwnerKeysCount()
                    + " new owner key(s), policy v"
                    + policy.getVersion()
                    + (body.getClearGrants() ? ", grants cleared" : "")));
  }

  static void addAnchor(Tx tx, AddAnchor body) {
    tx.requireRight(Right.RIGHT_ADD_ANCHOR);
    AnchorInfo a = body.getAnchor();
    validateAnchor(a);
    ScopeMeta meta = tx.meta();
    for (AnchorInfo existing : meta.getAnchors().getAnchorsList()) {
      if (existing.getId().equals(a.getId())) {
        throw new AnfException(
            ErrorCode.ALREADY_EXISTS, "anchor '" + a.getId() + "' is already in the group");
      }
    }
    AnchorMap anchors =
        meta.getAnchors().toBuilder()
            .addAnchors(a)
            .setVersion(meta.getAnchors().getVersion() + 1)
            .build();
    tx.putMeta(meta.toBuilder().setAnchors(anchors).build());
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_ANCHOR_ADDED)
            .setDetail("anchor " + a.getId() + " at " + a.getAddress() + "; " + describe(anchors)));
  }

  static void removeAnchor(Tx tx, RemoveAnchor body) {
    tx.requireRight(Right.RIGHT_REMOVE_ANCHOR);
    ScopeMeta meta = tx.meta();
    AnchorMap.Builder anchors = AnchorMap.newBuilder();
    boolean found = false;
    for (AnchorInfo a : meta.getAnchors().getAnchorsList()) {
      if (a.getId().equals(body.getAnchorId())) {
        found = true;
      } else {
        anchors.addAnchors(a);
      }
    }
    if (!found) {
      throw new AnfException(
          ErrorCode.NOT_FOUND, "anchor '" + body.getAnchorId() + "' is not in the group");
    }
    int min = Math.max(1, meta.getPolicy().getMinAnchors());
    if (anchors.getAnchorsCount() < min) {
      throw AnfException.precondition(
          "removing '"
              + body.getAnchorId()
              + "' would leave "
              + anchors.getAnchorsCount()
              + " anchors; policy needs "
              + min);
    }
    anchors.setVersion(meta.getAnchors().getVersion() + 1);
    AnchorMap built = anchors.build();
    tx.putMeta(meta.toBuilder().setAnchors(built).build());
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_ANCHOR_REMOVED)
            .setDetail("anchor " + body.getAnchorId() + "; " + describe(built)));
  }

  /** "quorum 2-of-2 (a4, a7)", as the anchor map now stands. */
  static String describe(AnchorMap anchors) {
    int n = anchors.getAnchorsCount();
    StringBuilder ids = new StringBuilder();
    for (AnchorInfo a : anchors.getAnchorsList()) {
      if (ids.length() > 0) {
        ids.append(", ");
      }
      ids.append(a.getId());
    }
    return "quorum " + (n / 2 + 1) + "-of-" + n + " (" + ids + ")";
  }
}
