package org.anf.anchor.structure;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.transition.Exports;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.MoveRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.OpenTransaction;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.TxnOutcome;
import org.anf.proto.v1.TxnPhase;
import org.anf.proto.v1.TxnState;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs move, split and merge across anchor groups from this node, as the recorded protocol of
 * {@link StructureCoordinator}: each step is signed by this node's key and carries the client's
 * signed request, which every scope's state machine checks against its own policy. The transaction
 * id is the request's mutation id and every step's mutation id derives from it, so a transaction
 * can be run again from the start at any time and only the steps not yet taken take effect.
 *
 * <p>That is how a crash resolves: on start, {@link #recover} finds every transaction whose intent
 * is recorded in a scope this node hosts and runs it again from its intent (which carries the
 * request). It commits if every scope still accepts the intent, and aborts on every side otherwise;
 * a merged scope left sealed is dissolved. Reads keep working at every step in between: an intent
 * only locks the entries concerned against writes.
 *
 * <p>Runs one transaction at a time on a node; structural changes are rare and a lock keeps a
 * client's retry and the recovery of the same transaction from racing each other here.
 */
public final class Coordinator {
  private static final Logger LOG = LoggerFactory.getLogger(Coordinator.class);

  private final String nodeId;
  private final KeyPair nodeKey;
  private final ScopeGroups groups;
  private final ScopeRegistry registry;
  private final StructureCoordinator.StepHook hook;
  private final MutationFactory factory =
      new MutationFactory(new SecureRandom(), System::currentTimeMillis);
  private final ReentrantLock lock = new ReentrantLock();

  public Coordinator(
      String nodeId,
      KeyPair nodeKey,
      ScopeGroups groups,
      ScopeRegistry registry,
      StructureCoordinator.StepHook hook) {
    this.nodeId = nodeId;
    this.nodeKey = nodeKey;
    this.groups = groups;
    this.registry = registry;
    this.hook = hook;
  }

  private StructureCoordinator protocol(NodeGateway gw, SignedMutation request) {
    return new StructureCoordinator(
        gw,
        factory,
        m -> Signing.sign(m.toBuilder().setAuthorization(request).build(), nodeKey),
        hook);
  }

  // --- requests -------------------------------------------------------------------------------

  /** Checks what needs no state: signature, form, kind. */
  static Mutation parseRequest(SignedMutation request, Mutation.KindCase kind) {
    Mutation m = Transitions.parse(request);
    Transitions.verifySignature(request);
    if (m.getMutationId().size() != Transitions.MUTATION_ID_BYTES) {
      throw AnfException.invalid("request.mutation_id", "a mutation id is 16 bytes");
    }
    if (m.getKindCase() != kind) {
      throw AnfException.invalid(
          "request", "expected a " + kind + " request, got " + m.getKindCase());
    }
    return m;
  }

  public StructureResponse move(SignedMutation request) {
    Mutation m = parseRequest(request, Mutation.KindCase.MOVE);
    Move mv = m.getMove();
    if (mv.getPhase() != TxnPhase.TXN_PHASE_PREPARE
        || mv.getRole() != MoveRole.MOVE_ROLE_UNSPECIFIED) {
      throw AnfException.invalid(
          "request.move", "a move request has phase PREPARE and no role (the coordinator sets it)");
    }
    long source = m.getScopeId();
    long dest = mv.getPeerScopeId();
    if (source == 0 || dest == 0 || source == dest) {
      throw AnfException.invalid(
          "request.move",
          "name the source scope (scope_id) and a different destination (peer_scope_id); a move"
              + " within one scope is an ordinary Submit with phase LOCAL");
    }
    Alias from = Alias.parse(mv.getFrom().getText());
    Alias to = Alias.parse(mv.getTo().getText());
    requireAnchor(source);
    requireAnchor(dest);
    ByteString txn = m.getMutationId();
    lock.lock();
    try {
      StructureResponse done = finished(source, txn, "move.prepare-source", "move.commit-source");
      if (done != null) {
        return done;
      }
      byte[] requester = request.getPublicKey().toByteArray();
      requireRight(source, requester, Right.RIGHT_MOVE);
      requireRight(dest, requester, Right.RIGHT_MOVE);
      checkMovedChildren(source, from, requester);
      NodeGateway gw = new NodeGateway(groups, registry);
      try {
        protocol(gw, request).move(txn, source, from, dest, to);
      } catch (AnfException e) {
        return abortedOrThrow(gw, source, txn, "move.prepare-source", "move.commit-source", e);
      }
      return committed(gw, txn);
    } finally {
      lock.unlock();
    }
  }

  public StructureResponse split(SignedMutation request) {
    Mutation m = parseRequest(request, Mutation.KindCase.SPLIT);
    if (m.getSplit().getPhase() != TxnPhase.TXN_PHASE_LOCAL) {
      throw AnfException.invalid(
          "request.split", "a split request has no phase (the coordinator runs the phases)");
    }
    long scope = m.getScopeId();
    requireAnchor(scope);
    for (SplitChild c : m.getSplit().getChildrenList()) {
      if (!hasKey(c.getAnchors(), nodeKey.publicKey())) {
        throw AnfException.precondition(
            "child '"
                + c.getLabel()
                + "' does not list anchor "
                + nodeId
                + " (this node starts its group); send the split to one of its anchors");
      }
    }
    ByteString txn = m.getMutationId();
    lock.lock();
    try {
      StructureResponse done = finished(scope, txn, "split.prepare", "split.commit");
      if (done != null) {
        return done;
      }
      requireRight(scope, request.getPublicKey().toByteArray(), Right.RIGHT_SPLIT);
      NodeGateway gw = new NodeGateway(groups, registry);
      List<Long> ids;
      try {
        ids = protocol(gw, request).split(txn, scope, m.getSplit().getChildrenList());
      } catch (AnfException e) {
        return abortedOrThrow(gw, scope, txn, "split.prepare", "split.commit", e);
      }
      return committed(gw, txn).toBuilder().addAllChildScopeIds(ids).build();
    } finally {
      lock.unlock();
    }
  }

  public StructureResponse merge(SignedMutation request) {
    Mutation m = parseRequest(request, Mutation.KindCase.MERGE);
    Merge mg = m.getMerge();
    if (mg.getRole() != MergeRole.MERGE_ROLE_UNSPECIFIED
        || mg.getPhase() != TxnPhase.TXN_PHASE_PREPARE) {
      throw AnfException.invalid(
          "request.merge",
          "a merge request has phase PREPARE and no role (the coordinator sets them)");
    }
    long parent = m.getScopeId();
    long child = mg.getChildScopeId();
    requireAnchor(parent);
    requireAnchor(child);
    ScopeMeta childMeta = localMeta(child);
    if (childMeta.getParentScopeId() != parent) {
      throw AnfException.invalid(
          "request.merge",
          "scope "
              + ScopeIds.text(child)
              + " is a child of "
              + ScopeIds.text(childMeta.getParentScopeId())
              + ", not of "
              + ScopeIds.text(parent));
    }
    Alias childAlias = Alias.parse(mg.getChild().getText());
    ByteString txn = m.getMutationId();
    lock.lock();
    try {
      StructureResponse done = finished(child, txn, "merge.prepare-child", "merge.commit-child");
      if (done != null) {
        return done;
      }
      byte[] requester = request.getPublicKey().toByteArray();
      requireRight(parent, requester, Right.RIGHT_MERGE);
      if (!childMeta.getPolicy().getParentMayReclaim()) {
        // The ENS-fuse rule: without the child's consent in its policy, only a key holding MERGE
        // in the child itself takes it back.
        requireRight(
            child, requester, Right.RIGHT_MERGE, "parent_may_reclaim is false in its policy");
      }
      NodeGateway gw = new NodeGateway(groups, registry);
      try {
        protocol(gw, request).merge(txn, parent, child, childAlias);
      } catch (AnfException e) {
        return abortedOrThrow(gw, child, txn, "merge.prepare-child", "merge.commit-child", e);
      }
      return committed(gw, txn);
    } finally {
      lock.unlock();
    }
  }

  private static StructureResponse committed(NodeGateway gw, ByteString txn) {
    return StructureResponse.newBuilder()
        .setTxnId(txn)
        .setOutcome(TxnOutcome.TXN_OUTCOME_COMMITTED)
        .addAllEntries(gw.appended)
        .build();
  }

  /**
   * A refusal before the first intent was recorded changed nothing: it goes back as an error. One
   * after it was answered by aborting on every side, which is an outcome.
   */
  private StructureResponse abortedOrThrow(
      NodeGateway gw,
      long firstScope,
      ByteString txn,
      String firstStep,
      String lastStep,
      AnfException e) {
    if (!e.code().isCallerError()
        || !recorded(firstScope, StructureCoordinator.stepId(txn, firstStep, firstScope))) {
      // Not a refusal (no quorum, a timeout): the intents stay open, and the same request sent
      // again, or this node's recovery, finishes the transaction.
      throw e;
    }
    // The step may have been refused because another coordinator (the crashed one's recovery, or
    // a retry sent to another anchor) is finishing the same transaction and took it first: its
    // recorded decision, not this refusal, is the outcome.
    if (settledCommitted(firstScope, txn, lastStep)) {
      return StructureResponse.newBuilder()
          .setTxnId(txn)
          .setOutcome(TxnOutcome.TXN_OUTCOME_COMMITTED)
          .addAllEntries(gw.appended)
          .build();
    }
    return StructureResponse.newBuilder()
        .setTxnId(txn)
        .setOutcome(TxnOutcome.TXN_OUTCOME_ABORTED)
        .setReason(e.getMessage())
        .addAllEntries(gw.appended)
        .build();
  }

  /**
   * Whether the transaction's deciding step is recorded, waiting (up to a step's timeout) while its
   * intent is still open in {@code scope}: someone else may be finishing it.
   */
  private boolean settledCommitted(long scope, ByteString txn, String lastStep) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(NodeGateway.STEP_TIMEOUT_MS);
    ScopeStateMachine sm = registry.get(scope);
    while (true) {
      barrier(scope);
      if (recorded(scope, StructureCoordinator.stepId(txn, lastStep, scope))) {
        return true;
      }
      boolean open = sm != null && sm.store().read(() -> sm.state().txn(txn.toByteArray())) != null;
      if (!open) {
        return false;
      }
      if (System.nanoTime() > deadline) {
        throw new AnfException(
            ErrorCode.UNAVAILABLE,
            "transaction "
                + Bytes.hex(txn.toByteArray())
                + " is still open in scope "
                + ScopeIds.text(scope)
                + "; send the same request again for its outcome");
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted");
      }
    }
  }

  /** The outcome of a transaction run before (a client's retry), or null if it never started. */
  private @Nullable StructureResponse finished(
      long scope, ByteString txn, String firstStep, String lastStep) {
    barrier(scope);
    if (!recorded(scope, StructureCoordinator.stepId(txn, firstStep, scope))) {
      return null;
    }
    ScopeStateMachine sm = registry.get(scope);
    if (sm != null && sm.store().read(() -> sm.state().txn(txn.toByteArray())) != null) {
      return null; // open: run it on from where it stopped
    }
    boolean done = recorded(scope, StructureCoordinator.stepId(txn, lastStep, scope));
    return StructureResponse.newBuilder()
        .setTxnId(txn)
        .setOutcome(done ? TxnOutcome.TXN_OUTCOME_COMMITTED : TxnOutcome.TXN_OUTCOME_ABORTED)
        .setReason(done ? "" : "this transaction was aborted before")
        .build();
  }

  private boolean recorded(long scope, ByteString mutationId) {
    ScopeStateMachine sm = registry.get(scope);
    return sm != null
        && sm.store()
            .read(() -> sm.state().exists() && sm.state().outcome(mutationId.toByteArray()) > 0);
  }

  /**
   * A delegated child moves with its parent's subtree only if its policy lets the parent move it
   * (parent_may_reclaim) or the requester holds MOVE in the child: the ENS-fuse rule for moves.
   * Checked here so that a refused move records nothing; the child's own state machine checks it
   * again when its re-parent intent is taken.
   */
  private void checkMovedChildren(long source, Alias from, byte[] requester) {
    List<ExportedEntry> entries =
        read(
            source,
            s ->
                Exports.subtree(
                    s, Alias.joinPath(from.relativeTo(Alias.fromProto(s.meta().getPath())))));
    for (ExportedEntry e : entries) {
      if (!e.hasDelegation()) {
        continue;
      }
      long child = e.getDelegation().getChildScopeId();
      // This node takes the child's re-parent steps: it must be one of its anchors.
      requireAnchor(child);
      ScopeMeta meta = localMeta(child);
      if (!meta.getPolicy().getParentMayReclaim()
          && !Policies.hasRight(meta.getPolicy(), requester, Right.RIGHT_MOVE)) {
        throw new AnfException(
            ErrorCode.NOT_AUTHORIZED,
            "child scope '"
                + meta.getPath().getText()
                + "' does not let its parent move it (parent_may_reclaim is false) and key "
                + Ed25519.publicKeyText(requester)
                + " holds no MOVE right in it");
      }
    }
  }

  /**
   * Refuses, before anything is recorded, a request whose key does not hold {@code right} in a
   * scope (or is revoked there): every scope's state machine would refuse its intent anyway, but
   * only after the sides before it had recorded and then aborted theirs.
   */
  private void requireRight(long scope, byte[] key, Right right) {
    requireRight(scope, key, right, "");
  }

  private void requireRight(long scope, byte[] key, Right right, String why) {
    boolean[] revoked = {false};
    ScopeMeta meta =
        read(
            scope,
            s -> {
              revoked[0] = s.keyRevocation(key) != null;
              return s.meta();
            });
    if (revoked[0] || !Policies.hasRight(meta.getPolicy(), key, right)) {
      throw new AnfException(
          ErrorCode.NOT_AUTHORIZED,
          "key "
              + Ed25519.publicKeyText(key)
              + (revoked[0]
                  ? " is revoked in"
                  : " does not hold " + right.name().substring(6) + " in")
              + " scope '"
              + (meta.getPath().getText().isEmpty() ? "(root)" : meta.getPath().getText())
              + "'"
              + (why.isEmpty() ? "" : " (" + why + ")"));
    }
  }

  // --- recovery -------------------------------------------------------------------------------

  /** The transactions open in the scopes this node hosts (as far as its replicas know). */
  public List<OpenTransaction> open() {
    List<OpenTransaction> out = new ArrayList<>();
    for (ScopeStateMachine sm : registry.all().values()) {
      sm.store()
          .read(
              () -> {
                if (sm.state().exists()) {
                  for (TxnState t : sm.state().openTxns()) {
                    out.add(
                        OpenTransaction.newBuilder()
                            .setScopeId(sm.scopeId())
                            .setTxnId(t.getTxnId())
                            .setKind(t.getKind().name().substring("TXN_KIND_".length()))
                            .setOpenedSeq(t.getOpenedSeq())
                            .build());
                  }
                }
                return null;
              });
    }
    return out;
  }

  /**
   * One pass over the scopes this node hosts: every open transaction is run again from its intent
   * (to commit, or to abort on every side), and every sealed scope is dissolved. Returns how many
   * could not be finished now (a group without quorum, say); call again later for those.
   */
  public int recover() {
    int unfinished = 0;
    for (ScopeStateMachine sm : registry.all().values()) {
      long scope = sm.scopeId();
      try {
        ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
        if (meta == null) {
          continue;
        }
        if (meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_SEALED) {
          LOG.info("recovery: scope {} is sealed (merged); dissolving it", ScopeIds.text(scope));
          groups.dissolve(scope);
          continue;
        }
        List<TxnState> txns = sm.store().read(() -> sm.state().openTxns());
        if (txns.isEmpty()) {
          continue;
        }
        // What this replica saw open may have moved on while it was down: catch up first.
        barrier(scope);
        for (TxnState t : sm.store().read(() -> sm.state().openTxns())) {
          lock.lock();
          try {
            resume(scope, meta, t);
          } finally {
            lock.unlock();
          }
        }
      } catch (AnfException e) {
        unfinished++;
        LOG.warn("recovery: scope {}: {}", ScopeIds.text(scope), e.getMessage());
      }
    }
    return unfinished;
  }

  /**
   * Drops this node's copy of a scope the rest of its group has dissolved: a merge that sealed and
   * dissolved the child while this anchor was cut off never reaches this replica (the other anchors
   * removed their copies, so no leader is left to send the seal), and it would otherwise keep a
   * replica of a scope that no longer exists. Dissolved means all three of: this replica's group
   * has no leader; the parent, hosted here and caught up, neither delegates the child's path to it
   * nor holds an open transaction that could (a split creates the child before its parent
   * delegates); and every other anchor of the group answers that it hosts no such group. Returns
   * how many copies were dropped.
   */
  public int sweepDissolved() {
    int dropped = 0;
    for (ScopeStateMachine sm : registry.all().values()) {
      long scope = sm.scopeId();
      try {
        ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
        if (meta == null
            || meta.getLifecycle() != ScopeLifecycle.SCOPE_LIFECYCLE_ACTIVE
            || meta.getParentScopeId() == 0
            || groups.hasLeader(scope)) {
          continue;
        }
        long parent = meta.getParentScopeId();
        ScopeStateMachine p = registry.get(parent);
        if (p == null || !groups.hasLeader(parent)) {
          continue; // cannot judge from here (yet)
        }
        barrier(parent);
        Alias path = Alias.fromProto(meta.getPath());
        boolean stillDelegated =
            p.store()
                .read(
                    () -> {
                      ScopeState ps = p.state();
                      if (!ps.exists() || !ps.openTxns().isEmpty()) {
                        return true;
                      }
                      Alias parentPath = Alias.fromProto(ps.meta().getPath());
                      if (!parentPath.isPrefixOf(path)) {
                        return true; // moved under another parent: not for this check
                      }
                      Delegation d = ps.delegation(Alias.joinPath(path.relativeTo(parentPath)));
                      return d != null && d.getChildScopeId() == scope;
                    });
        if (stillDelegated || groups.othersHost(scope)) {
          continue;
        }
        LOG.info(
            "scope {} ({}): its parent no longer delegates to it and no other anchor hosts it"
                + " (dissolved while this anchor was cut off); dropping this copy",
            ScopeIds.text(scope),
            meta.getPath().getText());
        groups.removeLocal(scope, true);
        dropped++;
      } catch (AnfException e) {
        LOG.debug("sweep: scope {}: {}", ScopeIds.text(scope), e.getMessage());
      }
    }
    return dropped;
  }

  private void resume(long scope, ScopeMeta meta, TxnState t) {
    Mutation intent = t.getIntent();
    ByteString txn = t.getTxnId();
    String txnText = Bytes.hex(txn.toByteArray());
    NodeGateway gw = new NodeGateway(groups, registry);
    if (!intent.hasAuthorization()) {
      // A client ran this protocol itself and left it open: nobody can take its remaining
      // intents on its behalf, so it is aborted here (on this side; each side aborts its own).
      LOG.info("recovery: aborting client-run transaction {} in {}", txnText, meta.getPath());
      SignedMutation abort = Signing.sign(abortStep(scope, t), nodeKey);
      gw.submit(scope, abort);
      return;
    }
    SignedMutation request = intent.getAuthorization();
    StructureCoordinator p = protocol(gw, request);
    LOG.info(
        "recovery: resuming {} transaction {} (open in {} since seq {})",
        t.getKind(),
        txnText,
        meta.getPath().getText().isEmpty() ? "(root)" : meta.getPath().getText(),
        t.getOpenedSeq());
    try {
      switch (t.getKind()) {
        case TXN_KIND_MOVE -> {
          // Every side's intent carries the request, which names the whole move.
          Mutation req = Transitions.parse(request);
          Move mv = req.getMove();
          long src = req.getScopeId();
          if (src != scope && sourceAborted(src, txn)) {
            // The source recorded the decision (abort) before this side heard of it.
            LOG.info("recovery: move {} was aborted at its source; aborting here", txnText);
            String step =
                intent.getMove().getRole() == MoveRole.MOVE_ROLE_DESTINATION
                    ? "move.abort-destination"
                    : "move.abort-child";
            Mutation abort =
                abortStep(scope, t).toBuilder()
                    .setMutationId(StructureCoordinator.stepId(txn, step, scope))
                    .build();
            gw.submit(scope, Signing.sign(abort, nodeKey));
            return;
          }
          p.move(
              txn,
              src,
              Alias.fromProto(mv.getFrom()),
              mv.getPeerScopeId(),
              Alias.fromProto(mv.getTo()));
        }
        case TXN_KIND_SPLIT -> p.split(txn, scope, intent.getSplit().getChildrenList());
        case TXN_KIND_MERGE -> {
          Merge mg = intent.getMerge();
          boolean child = mg.getRole() == MergeRole.MERGE_ROLE_CHILD;
          long parent = child ? meta.getParentScopeId() : scope;
          p.merge(txn, parent, mg.getChildScopeId(), Alias.fromProto(mg.getChild()));
        }
        default ->
            throw new AnfException(
                ErrorCode.CORRUPTION, "open transaction of unknown kind " + t.getKind());
      }
      LOG.info("recovery: transaction {} committed", txnText);
    } catch (AnfException e) {
      if (e.code() == ErrorCode.UNAVAILABLE || e.code() == ErrorCode.TIMEOUT) {
        throw e;
      }
      // The protocol aborted every side it had prepared; the refusal is why.
      LOG.info("recovery: transaction {} aborted: {}", txnText, e.getMessage());
    }
  }

  /**
   * Whether a move's source closed its intent without committing: its abort is the decision, taken
   * before any other side aborts (see {@link StructureCoordinator#move}).
   */
  private boolean sourceAborted(long source, ByteString txn) {
    ScopeStateMachine sm = registry.get(source);
    if (sm == null) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "the source scope "
              + ScopeIds.text(source)
              + " of move "
              + Bytes.hex(txn.toByteArray())
              + " is not hosted on anchor "
              + nodeId
              + "; an anchor of both scopes finishes it");
    }
    barrier(source);
    boolean open = sm.store().read(() -> sm.state().txn(txn.toByteArray()) != null);
    return !open
        && !recorded(source, StructureCoordinator.stepId(txn, "move.commit-source", source))
        && recorded(source, StructureCoordinator.stepId(txn, "move.prepare-source", source));
  }

  private Mutation abortStep(long scope, TxnState t) {
    Mutation intent = t.getIntent();
    ByteString txn = t.getTxnId();
    return switch (t.getKind()) {
      case TXN_KIND_MOVE -> factory.moveAbort(scope, txn);
      case TXN_KIND_SPLIT -> factory.split(scope, TxnPhase.TXN_PHASE_ABORT, txn, List.of());
      case TXN_KIND_MERGE ->
          factory.merge(
              scope,
              intent.getMerge().getRole(),
              TxnPhase.TXN_PHASE_ABORT,
              txn,
              intent.getMerge().getChildScopeId(),
              Alias.fromProto(intent.getMerge().getChild()),
              List.of(),
              0,
              ByteString.EMPTY);
      default -> throw new AnfException(ErrorCode.CORRUPTION, "open transaction of unknown kind");
    };
  }

  /**
   * Makes this node's replica of a scope current: a linearizable read waits until the replica has
   * applied everything the group committed before it.
   */
  private void barrier(long scope) {
    LookupRequest probe =
        LookupRequest.newBuilder().setScopeId(scope).setUid(Uid.of(scope, 0, 1).toProto()).build();
    try {
      var unused =
          groups
              .linearizableLookup(scope, probe)
              .get(NodeGateway.STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted");
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "scope " + ScopeIds.text(scope) + " could not confirm its state: " + e.getMessage(),
          e);
    }
  }

  // --- helpers --------------------------------------------------------------------------------

  private <T> T read(long scope, java.util.function.Function<ScopeState, T> reader) {
    ScopeStateMachine hosted = registry.get(scope);
    if ((hosted == null || !hosted.store().read(() -> hosted.state().exists()))
        && groups.hosts(scope)) {
      // A request may follow one answered through another anchor of the group: a scope created
      // (split off) a moment ago whose genesis this replica has not applied yet. Every other read
      // here is only a pre-check that the scope's own state machine repeats.
      barrier(scope);
    }
    ScopeStateMachine sm = registry.get(scope);
    if (sm == null || !sm.store().read(() -> sm.state().exists())) {
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE,
          "scope " + ScopeIds.text(scope) + " is not hosted on anchor " + nodeId);
    }
    return sm.store().read(() -> reader.apply(sm.state()));
  }

  private ScopeMeta localMeta(long scope) {
    return read(scope, ScopeState::meta);
  }

  /** This node runs a scope's steps only as one of its anchors (the state machine insists). */
  private void requireAnchor(long scope) {
    ScopeMeta meta = localMeta(scope);
    if (!hasKey(meta.getAnchors(), nodeKey.publicKey())) {
      List<String> ids = new ArrayList<>();
      meta.getAnchors().getAnchorsList().forEach(a -> ids.add(a.getId() + " " + a.getAddress()));
      throw AnfException.precondition(
          "anchor "
              + nodeId
              + " is not an anchor of scope '"
              + meta.getPath().getText()
              + "'; send the request to one of "
              + ids);
    }
  }

  private static boolean hasKey(AnchorMap anchors, byte[] key) {
    ByteString k = ByteString.copyFrom(key);
    for (AnchorInfo a : anchors.getAnchorsList()) {
      if (a.getPublicKey().equals(k)) {
        return true;
      }
    }
    return false;
  }
}
