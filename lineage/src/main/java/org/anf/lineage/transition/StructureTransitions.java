package org.anf.lineage.transition;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.ObjectStatus;
import org.anf.proto.v1.RedirectState;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.Split;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.TxnKind;
import org.anf.proto.v1.TxnState;

/**
 * Structural transitions: move, split, merge. Within one scope a move applies at once. Across
 * scopes each side records an intent (PREPARE locks the entries concerned: reads go on, writes to
 * them are refused), then COMMIT or ABORT; the coordinator drives the steps and, after a crash,
 * finishes or aborts whatever intent it finds open.
 */
final class StructureTransitions {
  static final int TXN_ID_BYTES = 16;
  static final int MAX_SPLIT_CHILDREN = 64;
  // As ScopeLookup.MAX_LOCAL_HOPS: local moves never loop, so this only bounds a corrupt state.
  static final int MAX_LOCAL_HOPS = 64;

  private StructureTransitions() {}

  // --- move -----------------------------------------------------------------------------------

  static void move(Tx tx, Move body) {
    StepAuthority.move(tx, body);
    switch (body.getPhase()) {
      case TXN_PHASE_LOCAL -> moveLocal(tx, body);
      case TXN_PHASE_PREPARE -> {
        byte[] txnId = newTxnId(tx, body.getTxnId());
        requireDisjoint(tx.alias(body.getFrom(), "move.from"), tx.alias(body.getTo(), "move.to"));
        if (body.getPeerScopeId() == 0 || body.getPeerScopeId() == tx.scopeId()) {
          throw AnfException.invalid(
              "move.peer_scope_id", "a cross-scope move names the other scope");
        }
        String locked;
        if (body.getRole() == MoveRole.MOVE_ROLE_CHILD) {
          prepareReparent(tx, body, txnId);
          return;
        }
        if (body.getRole() == MoveRole.MOVE_ROLE_SOURCE) {
          locked = tx.rel(body.getFrom(), "move.from");
          Alias to = tx.alias(body.getTo(), "move.to");
          requireEntries(tx, locked);
          requireNotIntoOwnChild(tx, locked, to, body.getPeerScopeId());
          StepAuthority.requireReclaimable(tx, locked, "move '" + tx.full(locked) + "'");
          tx.requireUnlocked(locked);
        } else if (body.getRole() == MoveRole.MOVE_ROLE_DESTINATION) {
          locked = tx.rel(body.getTo(), "move.to");
          tx.alias(body.getFrom(), "move.from");
          requireEmpty(tx, locked);
        } else {
          throw AnfException.invalid(
              "move.role", "a cross-scope move step is SOURCE, DESTINATION or CHILD");
        }
        openTxn(tx, txnId, TxnKind.TXN_KIND_MOVE, List.of(locked));
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_LOCKED)
                .setAlias(tx.full(locked).toProto())
                .setTarget(
                    body.getRole() == MoveRole.MOVE_ROLE_SOURCE ? body.getTo() : body.getFrom())
                .setDetail(
                    "move " + roleName(body.getRole()) + " intent, txn " + Bytes.hex(txnId)));
      }
      case TXN_PHASE_COMMIT -> {
        TxnState t = requireTxn(tx, body.getTxnId(), TxnKind.TXN_KIND_MOVE);
        Move intent = t.getIntent().getMove();
        if (intent.getRole() == MoveRole.MOVE_ROLE_SOURCE) {
          commitMoveOut(tx, intent);
        } else if (intent.getRole() == MoveRole.MOVE_ROLE_CHILD) {
          commitReparent(tx, intent);
        } else {
          commitMoveIn(tx, intent, body.getEntriesList());
        }
        tx.deleteTxn(t.getTxnId());
      }
      case TXN_PHASE_ABORT -> abort(tx, body.getTxnId(), TxnKind.TXN_KIND_MOVE);
      case UNRECOGNIZED -> throw AnfException.invalid("move.phase", "unknown phase");
    }
  }

  private static void moveLocal(Tx tx, Move body) {
    String from = tx.rel(body.getFrom(), "move.from");
    String to = tx.rel(body.getTo(), "move.to");
    requireDisjoint(tx.full(from), tx.full(to));
    requireEntries(tx, from);
    StepAuthority.requireReclaimable(tx, from, "move '" + tx.full(from) + "'");
    requireNoDelegation(tx, from);
    tx.requireUnlocked(from);
    requireEmpty(tx, to);
    Uid moved = tx.binding(from);
    List<ExportedEntry> entries = Exports.subtree(tx, from);
    removeSubtree(tx, from);
    for (ExportedEntry e : entries) {
      importEntry(tx, to, e);
    }
    tx.putRedirect(from, RedirectState.newBuilder().setLocalPrefix(to).setSeq(tx.seq()).build());
    tx.uid = moved;
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_MOVED_OUT)
            .setAlias(tx.full(from).toProto())
            .setTarget(tx.full(to).toProto())
            .setDetail("within the scope, " + entries.size() + " entries"));
  }

  /**
   * A delegated child records its own name (its path and depth): a move within the parent would
   * leave that record naming a place that now redirects, and a later move into the child by its
   * recorded name would create names the redirect shadows (and loops). Such a subtree moves across
   * scopes, whose protocol re-parents the child, or after a merge.
   */
  private static void requireNoDelegation(Tx tx, String from) {
    tx.scanSubtree(
        StateKeys.DELEGATION,
        from,
        (k, v) -> {
          Delegation d = ScopeState.parse(v, Delegation.parser());
          throw AnfException.precondition(
              "cannot move '"
                  + tx.full(from)
                  + "' within its scope: '"
                  + d.getChild().getText()
                  + "' is delegated to scope "
                  + ScopeIds.text(d.getChildScopeId())
                  + ", which records that name; move it to another scope (its anchors re-parent"
                  + " it) or merge it first");
        });
  }

  /**
   * A subtree cannot move into itself, nor onto one of its ancestors: either would leave a redirect
   * that points back into the subtree it replaced, and the old names would loop.
   */
  private static void requireDisjoint(Alias from, Alias to) {
    if (from.isPrefixOf(to) || to.isPrefixOf(from)) {
      throw AnfException.invalid(
          "move.to",
          "'" + to + "' and '" + from + "' overlap; a subtree cannot move into or onto itself");
    }
  }

  /**
   * A subtree that holds a delegation cannot move into that child scope or below it: the child
   * would end up delegated from inside itself, and its names would loop. The destination may be
   * named by a path that this scope has since moved elsewhere within itself (a child keeps the path
   * it was created at), so the check follows this scope's own moves before comparing names.
   */
  private static void requireNotIntoOwnChild(Tx tx, String from, Alias to, long peerScopeId) {
    tx.scanSubtree(
        StateKeys.DELEGATION,
        from,
        (k, v) -> {
          Delegation d = org.anf.lineage.state.ScopeState.parse(v, Delegation.parser());
          if (d.getChildScopeId() == peerScopeId) {
            throw AnfException.invalid(
                "move.peer_scope_id",
                "scope "
                    + ScopeIds.text(peerScopeId)
                    + " is delegated at '"
                    + d.getChild().getText()
                    + "', inside '"
                    + tx.full(from)
                    + "'; a subtree cannot move into one of its own child scopes");
          }
          return true;
        });
    Alias canonical = followLocalMoves(tx, to);
    Alias root = tx.full(from);
    if (!canonical.equals(to) && (root.isPrefixOf(canonical) || canonical.isPrefixOf(root))) {
      throw AnfException.invalid(
          "move.to",
          "'"
              + to
              + "' is now '"
              + canonical
              + "', which overlaps '"
              + root
              + "'; a subtree cannot move into or onto itself");
    }
  }

  /** {@code alias} with every prefix that this scope moved within itself replaced by its target. */
  private static Alias followLocalMoves(Tx tx, Alias alias) {
    Alias scope = tx.path();
    if (!scope.isPrefixOf(alias)) {
      return alias;
    }
    List<String> rel = new ArrayList<>(alias.relativeTo(scope));
    for (int hop = 0; hop < MAX_LOCAL_HOPS; hop++) {
      boolean moved = false;
      for (int k = 1; k <= rel.size() && !moved; k++) {
        RedirectState r = tx.redirect(Alias.joinPath(rel.subList(0, k)));
        if (r != null && r.getTargetCase() == RedirectState.TargetCase.LOCAL_PREFIX) {
          List<String> next = new ArrayList<>(Alias.splitPath(r.getLocalPrefix()));
          next.addAll(rel.subList(k, rel.size()));
          rel = next;
          moved = true;
        }
      }
      if (!moved) {
        break;
      }
    }
    return scope.concat(rel);
  }

  private static void commitMoveOut(Tx tx, Move intent) {
    String from = tx.rel(intent.getFrom(), "move.from");
    Alias to = Alias.fromProto(intent.getTo());
    List<ExportedEntry> entries = Exports.subtree(tx, from);
    markMovedOut(tx, entries, to);
    removeSubtree(tx, from);
    tx.putRedirect(
        from, RedirectState.newBuilder().setPrefix(to.toProto()).setSeq(tx.seq()).build());
    tx.uid = firstUid(entries);
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_MOVED_OUT)
            .setAlias(tx.full(from).toProto())
            .setTarget(to.toProto())
            .setDetail(
                "to scope "
                    + ScopeIds.text(intent.getPeerScopeId())
                    + ", "
                    + entries.size()
                    + " entries"));
  }

  private static void commitMoveIn(Tx tx, Move intent, List<ExportedEntry> entries) {
    String to = tx.rel(intent.getTo(), "move.to");
    int childDepth = tx.meta().getDepth() + 1;
    for (ExportedEntry e : entries) {
      if (e.hasDelegation()) {
        // A child scope now hangs one level below this scope, whatever its depth was.
        e = e.toBuilder().setDelegation(e.getDelegation().toBuilder().setDepth(childDepth)).build();
      }
      importEntry(tx, to, e);
    }
    tx.uid = firstUid(entries);
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_MOVED_IN)
            .setAlias(tx.full(to).toProto())
            .setTarget(intent.getFrom())
            .setDetail(
                "from scope "
                    + ScopeIds.text(intent.getPeerScopeId())
                    + ", "
                    + entries.size()
                    + " entries"));
  }

  /**
   * A child scope's intent to be re-parented: a subtree of its parent (or of an ancestor) that
   * holds its delegation is moving, so its own path, parent and depth will change. The whole scope
   * is locked until the move commits or aborts: every name in it changes, and an intent recorded
   * meanwhile would name the old paths.
   */
  private static void prepareReparent(Tx tx, Move body, byte[] txnId) {
    Alias from = tx.alias(body.getFrom(), "move.from");
    Alias to = tx.alias(body.getTo(), "move.to");
    ScopeMeta meta = tx.meta();
    if (!from.equals(tx.path())) {
      throw AnfException.precondition(
          "scope "
              + ScopeIds.text(tx.scopeId())
              + " is at '"
              + tx.path()
              + "', not '"
              + from
              + "'");
    }
    if (to.isRoot() || to.hasOpaque() || to.version() > 0) {
      throw AnfException.invalid("move.to", "a scope moves to a plain alias below the root");
    }
    if (body.getChildDepth() == 0) {
      throw AnfException.invalid("move.child_depth", "a child scope's depth is at least 1");
    }
    if (meta.getParentScopeId() == 0) {
      throw AnfException.invalid("move.role", "the root scope has no parent to move under");
    }
    if (!tx.openTxns().isEmpty()) {
      throw new AnfException(
          ErrorCode.LOCKED,
          "scope '" + tx.scopeName() + "' has open transactions; finish them before moving it");
    }
    openTxn(tx, txnId, TxnKind.TXN_KIND_MOVE, List.of(""));
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_LOCKED)
            .setAlias(from.toProto())
            .setTarget(to.toProto())
            .setDetail(
                "re-parent intent: to move under scope "
                    + ScopeIds.text(body.getPeerScopeId())
                    + ", txn "
                    + Bytes.hex(txnId)));
  }

  /**
   * The child's side of a committed move: its recorded path, parent and depth become the new ones,
   * and so do the names and depths of the delegations it holds (their own scopes take their own
   * re-parent steps). Names under the old path are refused from now on; the old parent's redirect
   * sends them here.
   */
  private static void commitReparent(Tx tx, Move intent) {
    ScopeMeta meta = tx.meta();
    Alias from = Alias.fromProto(meta.getPath());
    Alias to = Alias.fromProto(intent.getTo());
    int depth = intent.getChildDepth();
    List<String> paths = new ArrayList<>();
    List<Delegation> delegations = new ArrayList<>();
    tx.scanSubtree(
        StateKeys.DELEGATION,
        "",
        (k, v) -> {
          paths.add(StateKeys.pathOf(k));
          delegations.add(org.anf.lineage.state.ScopeState.parse(v, Delegation.parser()));
          return true;
        });
    for (int i = 0; i < paths.size(); i++) {
      tx.putDelegation(
          paths.get(i),
          delegations.get(i).toBuilder()
              .setChild(to.concat(Alias.splitPath(paths.get(i))).toProto())
              .setDepth(depth + 1)
              .build());
    }
    tx.putMeta(
        meta.toBuilder()
            .setPath(to.toProto())
            .setParentScopeId(intent.getPeerScopeId())
            .setDepth(depth)
            .build());
    tx.add(
        tx.effect(EffectKind.EFFECT_KIND_REPARENTED)
            .setAlias(from.toProto())
            .setTarget(to.toProto())
            .setDetail(
                "under scope "
                    + ScopeIds.text(intent.getPeerScopeId())
                    + (intent.getPeerScopeId() == meta.getParentScopeId()
                        ? ""
                        : " (was " + ScopeIds.text(meta.getParentScopeId()) + ")")
                    + ", depth "
                    + depth
                    + ", "
                    + paths.size()
                    + " delegations renamed"));
  }

  // --- split ----------------------------------------------------------------------------------

  static void split(Tx tx, Split body) {
    StepAuthority.split(tx, body);
    switch (body.getPhase()) {
      case TXN_PHASE_PREPARE -> {
        byte[] txnId = newTxnId(tx, body.getTxnId());
        if (body.getChildrenCount() == 0 || body.getChildrenCount() > MAX_SPLIT_CHILDREN) {
          throw AnfException.invalid("split.children", "a split names 1 to 64 child labels");
        }
        List<String> labels = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (SplitChild c : body.getChildrenList()) {
          String label = Alias.of(c.getLabel()).label(0);
          if (!seen.add(label)) {
            throw AnfException.invalid("split.children", "label '" + label + "' repeats");
          }
          if (tx.delegation(label) != null) {
            throw AnfException.precondition("'" + tx.full(label) + "' is already a child scope");
          }
          RedirectState r = tx.redirect(label);
          if (r != null && !r.hasUid()) {
            throw AnfException.precondition("'" + tx.full(label) + "' was moved away");
          }
          tx.requireUnlocked(label);
          long derived = ScopeIds.derive(tx.scopeId(), tx.full(label), c.getNonce().toByteArray());
          if (c.getNonce().isEmpty() || derived != c.getChildScopeId()) {
            throw AnfException.invalid(
                "split.children",
                "child '"
                    + label
                    + "': scope id is not the one derived from parent, path and nonce");
          }
          ScopeTransitions.validateAnchors(c.getAnchors(), 1);
          Policies.validate(c.getPolicy());
          labels.add(label);
        }
        openTxn(tx, txnId, TxnKind.TXN_KIND_SPLIT, labels);
        for (String label : labels) {
          tx.add(
              tx.effect(EffectKind.EFFECT_KIND_LOCKED)
                  .setAlias(tx.full(label).toProto())
                  .setDetail("split intent, txn " + Bytes.hex(txnId)));
        }
      }
      case TXN_PHASE_COMMIT -> {
        TxnState t = requireTxn(tx, body.getTxnId(), TxnKind.TXN_KIND_SPLIT);
        ScopeMeta meta = tx.meta();
        for (SplitChild c : t.getIntent().getSplit().getChildrenList()) {
          String label = Alias.of(c.getLabel()).label(0);
          List<ExportedEntry> entries = Exports.subtree(tx, label);
          Alias childAlias = tx.full(label);
          markMovedOut(tx, entries, childAlias);
          removeSubtree(tx, label);
          tx.putDelegation(
              label,
              Delegation.newBuilder()
                  .setChild(childAlias.toProto())
                  .setChildScopeId(c.getChildScopeId())
                  .setAnchors(c.getAnchors().toBuilder().setVersion(1))
                  .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(c.getPolicy())))
                  .setParentMayReclaim(c.getPolicy().getParentMayReclaim())
                  .setDepth(meta.getDepth() + 1)
                  .build());
          tx.add(
              tx.effect(EffectKind.EFFECT_KIND_SPLIT_OUT)
                  .setAlias(childAlias.toProto())
                  .setDetail(
                      "child scope "
                          + ScopeIds.text(c.getChildScopeId())
                          + ", "
                          + entries.size()
                          + " entries"));
        }
        tx.deleteTxn(t.getTxnId());
      }
      case TXN_PHASE_ABORT -> abort(tx, body.getTxnId(), TxnKind.TXN_KIND_SPLIT);
      case TXN_PHASE_LOCAL, UNRECOGNIZED ->
          throw AnfException.invalid(
              "split.phase",
              "a split creates new groups, so it runs as PREPARE then COMMIT or ABORT");
    }
  }

  // --- merge ----------------------------------------------------------------------------------

  static void merge(Tx tx, Merge body) {
    StepAuthority.merge(tx, body);
    if (body.getRole() == MergeRole.MERGE_ROLE_CHILD) {
      mergeChild(tx, body);
    } else if (body.getRole() == MergeRole.MERGE_ROLE_PARENT) {
      mergeParent(tx, body);
    } else {
      throw AnfException.invalid("merge.role", "a merge step is CHILD or PARENT");
    }
  }

  private static void mergeChild(Tx tx, Merge body) {
    if (body.getChildScopeId() != tx.scopeId()) {
      throw AnfException.invalid(
          "merge.child_scope_id", "the CHILD step applies to the child scope itself");
    }
    ScopeMeta meta = tx.meta();
    switch (body.getPhase()) {
      case TXN_PHASE_PREPARE -> {
        byte[] txnId = newTxnId(tx, body.getTxnId());
        if (!tx.openTxns().isEmpty()) {
          throw new AnfException(
              ErrorCode.LOCKED, "the scope has open transactions; finish them before merging");
        }
        openTxn(tx, txnId, TxnKind.TXN_KIND_MERGE, List.of(""));
        tx.putMeta(
            meta.toBuilder()
                .setLifecycle(ScopeLifecycle.SCOPE_LIFECYCLE_FROZEN)
                .setMergeTxnId(ByteString.copyFrom(txnId))
                .build());
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_LOCKED)
                .setAlias(meta.getPath())
                .setDetail("frozen for merge into the parent, txn " + Bytes.hex(txnId)));
      }
      case TXN_PHASE_COMMIT -> {
        TxnState t = requireTxn(tx, body.getTxnId(), TxnKind.TXN_KIND_MERGE);
        tx.deleteTxn(t.getTxnId());
        tx.putMeta(meta.toBuilder().setLifecycle(ScopeLifecycle.SCOPE_LIFECYCLE_SEALED).build());
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_SEALED)
                .setAlias(meta.getPath())
                .setDetail("merged into scope " + ScopeIds.text(meta.getParentScopeId())));
      }
      case TXN_PHASE_ABORT -> {
        abort(tx, body.getTxnId(), TxnKind.TXN_KIND_MERGE);
        tx.putMeta(
            meta.toBuilder()
                .setLifecycle(ScopeLifecycle.SCOPE_LIFECYCLE_ACTIVE)
                .clearMergeTxnId()
                .build());
      }
      case TXN_PHASE_LOCAL, UNRECOGNIZED ->
          throw AnfException.invalid("merge.phase", "a merge runs as PREPARE then COMMIT or ABORT");
    }
  }

  private static void mergeParent(Tx tx, Merge body) {
    String path = tx.rel(body.getChild(), "merge.child");
    Delegation d = tx.delegation(path);
    if (d == null || d.getChildScopeId() != body.getChildScopeId()) {
      throw new AnfException(
          ErrorCode.NOT_FOUND,
          "'"
              + tx.full(path)
              + "' is not delegated to scope "
              + ScopeIds.text(body.getChildScopeId()));
    }
    switch (body.getPhase()) {
      case TXN_PHASE_PREPARE -> {
        byte[] txnId = newTxnId(tx, body.getTxnId());
        StepAuthority.requireReclaimable(tx, d, "merge '" + tx.full(path) + "' into its parent");
        tx.requireUnlocked(path);
        openTxn(tx, txnId, TxnKind.TXN_KIND_MERGE, List.of(path));
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_LOCKED)
                .setAlias(tx.full(path).toProto())
                .setDetail("merge intent, txn " + Bytes.hex(txnId)));
      }
      case TXN_PHASE_COMMIT -> {
        TxnState t = requireTxn(tx, body.getTxnId(), TxnKind.TXN_KIND_MERGE);
        tx.deleteDelegation(path);
        for (ExportedEntry e : body.getEntriesList()) {
          importEntry(tx, path, e);
        }
        tx.deleteTxn(t.getTxnId());
        tx.add(
            tx.effect(EffectKind.EFFECT_KIND_MERGED_IN)
                .setAlias(tx.full(path).toProto())
                .setDetail(
                    "child scope "
                        + ScopeIds.text(body.getChildScopeId())
                        + " dissolved at its seq "
                        + body.getChildLineageSeq()
                        + " (head "
                        + Bytes.hex(body.getChildLineageHash().toByteArray())
                        + "), "
                        + body.getEntriesCount()
                        + " entries"));
      }
      case TXN_PHASE_ABORT -> abort(tx, body.getTxnId(), TxnKind.TXN_KIND_MERGE);
      case TXN_PHASE_LOCAL, UNRECOGNIZED ->
          throw AnfException.invalid("merge.phase", "a merge runs as PREPARE then COMMIT or ABORT");
    }
  }

  // --- shared ---------------------------------------------------------------------------------

  /** Writes one exported entry at {@code root}/{@code entry.relative_path}. */
  static void importEntry(Tx tx, String root, ExportedEntry e) {
    String rel = e.getRelativePath();
    if (!rel.isEmpty()) {
      for (String label : Alias.splitPath(rel)) {
        Alias.of(label); // validates the label
      }
    }
    String path = Exports.join(root, rel);
    if (path.isEmpty() && tx.path().isRoot()) {
      throw AnfException.invalid("entries", "nothing can be bound at the root itself");
    }
    switch (e.getEntryCase()) {
      case OBJECT -> {
        Uid uid = Uid.fromProto(e.getObject().getUid());
        requireNoEntry(tx, path);
        Records.validate(e.getObject().getRecord());
        tx.putBinding(path, uid);
        ObjectState.Builder o =
            ObjectState.newBuilder()
                .setUid(uid.toProto())
                .setPath(path)
                .setRecord(e.getObject().getRecord())
                .setStatus(ObjectStatus.OBJECT_STATUS_LIVE)
                .setCreatedSeq(tx.seq())
                .setUpdatedSeq(tx.seq());
        String hash = e.getObject().getDeviceHash();
        if (!hash.isEmpty()) {
          o.setDeviceHash(hash).setDeviceKey(e.getObject().getDeviceKey());
          tx.putDevice(hash, uid);
        }
        tx.putObject(o.build());
      }
      case REDIRECT_UID -> {
        requireNoEntry(tx, path);
        tx.putRedirect(path, tx.redirectToUid(Uid.fromProto(e.getRedirectUid())));
      }
      case RETIRED_UID -> {
        requireNoEntry(tx, path);
        Uid uid = Uid.fromProto(e.getRetiredUid());
        ObjectState existing = tx.object(uid);
        tx.putObject(
            (existing == null
                    ? ObjectState.newBuilder().setUid(uid.toProto()).setCreatedSeq(tx.seq())
                    : existing.toBuilder())
                .setPath(path)
                .setStatus(ObjectStatus.OBJECT_STATUS_RETIRED)
                .setUpdatedSeq(tx.seq())
                .build());
        tx.putRedirect(path, tx.redirectToUid(uid));
      }
      case DELEGATION -> {
        requireNoEntry(tx, path);
        tx.putDelegation(
            path, e.getDelegation().toBuilder().setChild(tx.full(path).toProto()).build());
      }
      case REDIRECT_ALIAS -> {
        requireNoEntry(tx, path);
        tx.putRedirect(
            path,
            RedirectState.newBuilder().setPrefix(e.getRedirectAlias()).setSeq(tx.seq()).build());
      }
      case REDIRECT_RELATIVE -> {
        requireNoEntry(tx, path);
        tx.putRedirect(
            path,
            RedirectState.newBuilder()
                .setLocalPrefix(Exports.join(root, e.getRedirectRelative()))
                .setSeq(tx.seq())
                .build());
      }
      case ENTRY_NOT_SET -> throw AnfException.invalid("entries", "an entry has no content");
    }
  }

  private static void requireNoEntry(Tx tx, String path) {
    if (tx.binding(path) != null || tx.redirect(path) != null || tx.delegation(path) != null) {
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS, "'" + tx.full(path) + "' already holds an entry");
    }
  }

  /** Deletes every binding, redirect and delegation at {@code root} and under it. */
  static void removeSubtree(Tx tx, String root) {
    for (byte col : new byte[] {StateKeys.BINDING, StateKeys.REDIRECT, StateKeys.DELEGATION}) {
      List<byte[]> keys = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      tx.scanSubtree(
          col,
          root,
          (k, v) -> {
            keys.add(k);
            values.add(v);
            return true;
          });
      for (int i = 0; i < keys.size(); i++) {
        if (col == StateKeys.BINDING) {
          ObjectState o = tx.object(Uid.fromBytes(values.get(i)));
          if (o != null && !o.getDeviceHash().isEmpty()) {
            tx.deleteDevice(o.getDeviceHash());
          }
        }
        tx.staged.delete(keys.get(i));
      }
    }
  }

  /** Marks each live object in {@code entries} as now governed elsewhere, at its new alias. */
  private static void markMovedOut(Tx tx, List<ExportedEntry> entries, Alias newRoot) {
    for (ExportedEntry e : entries) {
      if (e.hasObject()) {
        Uid uid = Uid.fromProto(e.getObject().getUid());
        ObjectState o = tx.object(uid);
        if (o != null) {
          tx.putObject(
              o.toBuilder()
                  .setStatus(ObjectStatus.OBJECT_STATUS_MOVED_OUT)
                  .setMovedTo(newRoot.concat(Alias.splitPath(e.getRelativePath())).toProto())
                  .setUpdatedSeq(tx.seq())
                  .build());
        }
      }
    }
  }

  private static void requireEntries(Tx tx, String path) {
    if (!tx.hasEntriesAtOrUnder(path)) {
      throw new AnfException(
          ErrorCode.NOT_FOUND, "nothing is bound at or under '" + tx.full(path) + "'");
    }
    if (tx.delegation(path) == null && tx.binding(path) == null) {
      RedirectState r = tx.redirect(path);
      if (r != null && !r.hasUid()) {
        throw AnfException.precondition("'" + tx.full(path) + "' was moved away already");
      }
    }
  }

  private static void requireEmpty(Tx tx, String path) {
    tx.requireFree(path);
    if (tx.hasEntriesAtOrUnder(path)) {
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS, "entries exist under '" + tx.full(path) + "'");
    }
  }

  private static byte[] newTxnId(Tx tx, ByteString id) {
    if (id.size() != TXN_ID_BYTES) {
      throw AnfException.invalid("txn_id", "a transaction id is 16 bytes");
    }
    if (tx.txn(id.toByteArray()) != null) {
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS,
          "transaction " + Bytes.hex(id.toByteArray()) + " is open already");
    }
    return id.toByteArray();
  }

  private static void openTxn(Tx tx, byte[] txnId, TxnKind kind, List<String> locked) {
    tx.putTxn(
        TxnState.newBuilder()
            .setTxnId(ByteString.copyFrom(txnId))
            .setKind(kind)
            .setIntent(tx.m)
            .addAllLocked(locked)
            .setOpenedSeq(tx.seq())
            .build());
  }

  private static TxnState requireTxn(Tx tx, ByteString id, TxnKind kind) {
    TxnState t = tx.txn(id.toByteArray());
    if (t == null || t.getKind() != kind) {
      throw AnfException.precondition(
          "no open "
              + kind.name().substring("TXN_KIND_".length()).toLowerCase(java.util.Locale.ROOT)
              + " transaction "
              + Bytes.hex(id.toByteArray())
              + " (committed or aborted already, or never prepared)");
    }
    return t;
  }

  private static void abort(Tx tx, ByteString id, TxnKind kind) {
    TxnState t = requireTxn(tx, id, kind);
    tx.deleteTxn(t.getTxnId());
    for (String locked : t.getLockedList()) {
      tx.add(
          tx.effect(EffectKind.EFFECT_KIND_UNLOCKED)
              .setAlias(tx.full(locked).toProto())
              .setDetail("aborted txn " + Bytes.hex(id.toByteArray())));
    }
  }

  private static @org.jspecify.annotations.Nullable Uid firstUid(List<ExportedEntry> entries) {
    for (ExportedEntry e : entries) {
      if (e.hasObject() && e.getRelativePath().isEmpty()) {
        return Uid.fromProto(e.getObject().getUid());
      }
    }
    return null;
  }

  private static String roleName(MoveRole role) {
    return switch (role) {
      case MOVE_ROLE_SOURCE -> "source";
      case MOVE_ROLE_DESTINATION -> "destination";
      default -> "child";
    };
  }
}
