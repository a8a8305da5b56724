package org.anf.anchor.statemachine;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.anf.anchor.store.ScopeStore;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.lookup.ScopeLookup;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.GroupCommand;
import org.anf.proto.v1.GroupQuery;
import org.anf.proto.v1.GroupReply;
import org.anf.proto.v1.IndexedRefusal;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The state machine of one scope's anchor group on one node.
 *
 * <ul>
 *   <li>{@code startTransaction} (leader, before the log) refuses what cannot apply now: a mutation
 *       that does not parse or whose signature fails, a second root, and, when the leader's state
 *       is known to be current, a signer without the right the mutation needs.
 *   <li>{@code applyTransaction} (every replica, in log order, on the group's apply thread) runs
 *       the pure {@link Transitions} and writes the delta, the lineage entry and the applied (term,
 *       index) in one RocksDB batch. A refusal here is a normal reply; only corruption stops the
 *       group.
 *   <li>Restart recovers from RocksDB (which records its own applied index) and, if the disk lost
 *       writes the Raft log no longer holds, from the latest snapshot file.
 * </ul>
 */
public final class ScopeStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(ScopeStateMachine.class);

  private static final long NEVER = Long.MIN_VALUE;

  private final long scopeId;
  private final ScopeRegistry registry;
  private final SnapshotStorage storage = new SnapshotStorage();
  private volatile @Nullable ScopeStore store;
  private volatile RaftServer.@Nullable Division division;
  // Highest log index this leader gave an entry that may change who holds which right.
  private final AtomicLong rightsChangeAt = new AtomicLong(-1);
  private final AtomicLong snapshotsInstalled = new AtomicLong();
  private final java.util.concurrent.atomic.AtomicInteger syncSnapshots =
      new java.util.concurrent.atomic.AtomicInteger();
  private final Object snapshotLock = new Object();
  // An automatic snapshot being written off the apply thread (guarded by snapshotLock).
  private @Nullable PendingSnapshot pendingSnapshot;
  private final long startedNanos = System.nanoTime();
  // When this replica last held every entry it knew to be committed (System.nanoTime()).
  private final AtomicLong freshAt = new AtomicLong(NEVER);
  // When this replica last heard from a leader of its group, as far as anyone asked.
  private final AtomicLong contactAt = new AtomicLong(NEVER);
  // Apply thread only: the commit index known at sampleNanos; once applied, fresh as of then.
  private long sampleIndex;
  private long sampleNanos = NEVER;

  public ScopeStateMachine(long scopeId, ScopeRegistry registry) {
    this.scopeId = scopeId;
    this.registry = registry;
  }

  public long scopeId() {
    return scopeId;
  }

  public ScopeStore store() {
    ScopeStore s = store;
    if (s == null) {
      throw new AnfException(ErrorCode.UNAVAILABLE, "scope state is not loaded yet");
    }
    return s;
  }

  /** The scope's state for reads (wrap reads in {@code store().read(...)}). */
  public ScopeState state() {
    return new ScopeState(store());
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage)
      throws IOException {
    getLifeCycle()
        .startAndTransition(
            () -> {
              super.initialize(server, groupId, raftStorage);
              storage.init(raftStorage);
              store = new ScopeStore(scopeId, registry.store());
              recover();
              registry.register(scopeId, this);
              noteRoot();
            });
  }

  /**
   * Brings RocksDB at least up to the newest snapshot file (one installed or restored), then
   * reports what RocksDB holds as the latest snapshot: Ratis replays its log from that index.
   * Entries RocksDB already holds are skipped in {@link #applyTransaction} in any case, since the
   * store records its own applied index.
   */
  private void recover() throws IOException {
    ScopeStore s = store();
    SingleFileSnapshotInfo snap = storage.latestFile();
    if (snap != null && snap.getIndex() > s.applied().index()) {
      install(snap.getFile().getPath());
    }
    // What RocksDB holds is on disk (it keeps no WAL: only flushed state survives a restart), so
    // it is this replica's latest snapshot, and Ratis replays its log from there.
    NodeStore.ScopeView view = registry.store().view(scopeId);
    NodeStore.Applied at = view.applied();
    org.apache.ratis.statemachine.SnapshotInfo latest = storage.getLatestSnapshot();
    if (at.index() >= 0 && (latest == null || at.index() > latest.getIndex())) {
      storage.offer(pinned(view));
    } else {
      view.close();
    }
    latest = storage.getLatestSnapshot();
    org.apache.ratis.server.protocol.TermIndex applied = getLastAppliedTermIndex();
    if (latest != null && (applied == null || latest.getIndex() > applied.getIndex())) {
      setLastAppliedTermIndex(latest.getTermIndex());
    }
  }

  private void install(Path file) {
    ScopeSnapshots.Contents c = ScopeSnapshots.read(file);
    if (c.scope() != scopeId) {
      throw new AnfException(
          ErrorCode.CORRUPTION,
          "snapshot " + file + " is of scope " + c.scope() + ", not " + scopeId);
    }
    NodeStore node = registry.store();
    node.deleteScope(scopeId);
    node.load(scopeId, c.keys(), c.values(), c.at());
    store().reload();
    LOG.info("scope {}: installed snapshot at index {}", scopeText(), c.at().index());
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return storage;
  }

  @Override
  public void pause() {
    // Ratis is about to replace sm/ with the leader's snapshot: no writer may still be in it.
    releaseSnapshots();
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  @Override
  public void reinitialize() throws IOException {
    // Ratis just replaced sm/ with the leader's snapshot: load it.
    storage.rescan();
    SingleFileSnapshotInfo snap = storage.latestFile();
    if (snap != null && snap.getIndex() > store().applied().index()) {
      install(snap.getFile().getPath());
      snapshotsInstalled.incrementAndGet();
      registry.metrics().snapshotInstalled();
    }
    recover();
    noteRoot();
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  /**
   * Before anything is logged (leader): the command parses, and every mutation's signature is
   * checked, once, here. A batch whose mutations all fail is refused outright; otherwise the
   * failures are recorded by index in the logged entry, answered with their refusal at apply and
   * never applied.
   *
   * <p>The signer's right is checked here too, but only when this leader's state is known to be the
   * state the mutation will meet (see {@link #rightsCheckable}): a key without the right then costs
   * no log entry and no fsync on any replica. Otherwise, and for every other precondition, apply
   * decides, on every replica alike; it stays authoritative.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext trx = super.startTransaction(request);
    try {
      GroupCommand cmd = GroupCommand.parseFrom(request.getMessage().getContent().toByteArray());
      if (cmd.getMutationsCount() == 0) {
        throw AnfException.invalid("command", "no mutation in the command");
      }
      ScopeMeta meta = rightsCheckable() ? store().read(() -> state().metaOrNull()) : null;
      boolean changesRights = false;
      GroupCommand.Builder checked = null;
      AnfException lastRefusal = null;
      @Nullable AnfException[] badSignature = verifyAll(cmd.getMutationsList());
      for (int i = 0; i < cmd.getMutationsCount(); i++) {
        SignedMutation signed = cmd.getMutations(i);
        try {
          if (badSignature[i] != null) {
            throw badSignature[i];
          }
          Mutation m = Transitions.parse(signed);
          refuseSecondRoot(m);
          // A mutation earlier in this batch may grant the right a later one needs.
          if (meta != null && !changesRights) {
            checkRight(meta, m, signed);
          }
          changesRights |= mayChangeRights(m);
        } catch (AnfException e) {
          lastRefusal = e;
          if (checked == null) {
            checked = cmd.toBuilder().clearRefused();
          }
          checked.addRefused(
              IndexedRefusal.newBuilder().setIndex(i).setRefusal(RefusedException.refusal(e)));
        }
      }
      if (checked != null) {
        registry.metrics().refused();
        if (checked.getRefusedCount() == cmd.getMutationsCount() && lastRefusal != null) {
          trx.setException(RefusedException.of(lastRefusal));
          return trx;
        }
        trx =
            TransactionContext.newBuilder()
                .setStateMachine(this)
                .setClientRequest(request)
                .setLogData(ByteString.copyFrom(checked.build().toByteArray()))
                .build();
      }
      if (changesRights) {
        trx.setStateMachineContext(RIGHTS_CHANGE);
      }
    } catch (InvalidProtocolBufferException e) {
      trx.setException(
          RefusedException.of(
              AnfException.invalid("command", "does not parse: " + e.getMessage())));
    } catch (AnfException e) {
      trx.setException(RefusedException.of(e));
    } catch (RuntimeException e) {
      LOG.error("scope {}: startTransaction failed", scopeText(), e);
      trx.setException(
          RefusedException.of(new AnfException(ErrorCode.INTERNAL, "validation failed: " + e)));
    }
    return trx;
  }

  private static final Object RIGHTS_CHANGE = new Object();

  // Signatures are checked on the thread that starts the transaction and on these at once: the
  // checks of a batch (~80 us each) were the longest serial step of a commit round.
  private static final int VERIFIERS = Math.max(1, Runtime.getRuntime().availableProcessors() - 1);
  private static final java.util.concurrent.ExecutorService VERIFIER_POOL =
      java.util.concurrent.Executors.newFixedThreadPool(
          VERIFIERS,
          r -> {
            Thread t = new Thread(r, "anf-verify");
            t.setDaemon(true);
            return t;
          });

  /** Below this many mutations a batch is checked on the calling thread alone. */
  private static final int PARALLEL_FROM = 4;

  /** Each mutation's signature refusal, null where it verifies; the order is the batch's. */
  static @Nullable AnfException[] verifyAll(List<SignedMutation> batch) {
    int n = batch.size();
    @Nullable AnfException[] out = new AnfException[n];
    RuntimeException[] bug = new RuntimeException[1];
    int parts = n < PARALLEL_FROM ? 1 : Math.min(n, VERIFIERS + 1);
    java.util.function.IntConsumer part =
        p -> {
          for (int i = p; i < n; i += parts) {
            try {
              Transitions.verifySignature(batch.get(i));
            } catch (AnfException e) {
              out[i] = e;
            } catch (RuntimeException e) {
              bug[0] = e;
            }
          }
        };
    List<CompletableFuture<Void>> helpers = new java.util.ArrayList<>(parts - 1);
    for (int p = 1; p < parts; p++) {
      int q = p;
      helpers.add(CompletableFuture.runAsync(() -> part.accept(q), VERIFIER_POOL));
    }
    part.accept(0);
    helpers.forEach(CompletableFuture::join);
    if (bug[0] != null) {
      throw bug[0];
    }
    return out;
  }

  /**
   * Called under the log's write lock, in log order, just before the entry gets the next index:
   * remembers where a mutation that may change rights sits, so that no right is checked against a
   * state that entry has yet to change.
   */
  @Override
  public TransactionContext preAppendTransaction(TransactionContext trx) throws IOException {
    if (trx.getStateMachineContext() == RIGHTS_CHANGE) {
      RaftServer.Division d = division();
      long next = d == null ? Long.MAX_VALUE : d.getRaftLog().getNextIndex();
      rightsChangeAt.accumulateAndGet(next, Math::max);
    }
    return trx;
  }

  /**
   * Whether this leader's applied state is the state a new entry will meet, as far as rights go: it
   * leads and is ready (so its commit index covers every earlier term), has applied everything
   * committed, and no entry it appended that may change rights is still unapplied.
   */
  private boolean rightsCheckable() {
    RaftServer.Division d = division();
    if (d == null || !d.getInfo().isLeader() || !d.getInfo().isLeaderReady()) {
      return false;
    }
    long applied = appliedIndex();
    return applied >= d.getRaftLog().getLastCommittedIndex() && applied >= rightsChangeAt.get();
  }

  /**
   * Mutations that may change who holds a right (policy, owners, anchors, structure) or that this
   * check does not model: a right checked after one of them waits for apply.
   */
  static boolean mayChangeRights(Mutation m) {
    return switch (m.getKindCase()) {
      case BIND,
              UNBIND,
              RENAME,
              ROTATE_UID,
              REGISTER_DEVICE,
              ROTATE_DEVICE_HASH,
              REVOKE,
              DELEGATE ->
          false;
      default -> true;
    };
  }

  /**
   * The right a mutation's transition requires of its signer before anything else, or null when its
   * authority is not that simple (a genesis, structural steps, device-signed rotations).
   */
  static @Nullable Right requiredRight(Mutation m) {
    return switch (m.getKindCase()) {
      case BIND -> Right.RIGHT_BIND;
      case UNBIND -> Right.RIGHT_UNBIND;
      case RENAME -> Right.RIGHT_RENAME;
      case ROTATE_UID -> Right.RIGHT_ROTATE_UID;
      case REGISTER_DEVICE -> Right.RIGHT_REGISTER_DEVICE;
      case REVOKE -> Right.RIGHT_REVOKE;
      case DELEGATE -> Right.RIGHT_DELEGATE;
      case SET_POLICY -> Right.RIGHT_SET_POLICY;
      case TRANSFER -> Right.RIGHT_TRANSFER;
      case ADD_ANCHOR -> Right.RIGHT_ADD_ANCHOR;
      case REMOVE_ANCHOR -> Right.RIGHT_REMOVE_ANCHOR;
      default -> null;
    };
  }

  /** Refuses, as apply would, a signer without the right under the scope's current policy. */
  private void checkRight(ScopeMeta meta, Mutation m, SignedMutation signed) {
    Right right = requiredRight(m);
    byte[] signer = signed.getPublicKey().toByteArray();
    if (right == null
        || m.getScopeId() != scopeId
        || meta.getScopeId() != scopeId
        || Policies.hasRight(meta.getPolicy(), signer, right)) {
      return;
    }
    // A retry of a mutation applied before (when the key still held the right) is a duplicate.
    byte[] id = m.getMutationId().toByteArray();
    if (store().read(() -> state().outcome(id)) > 0) {
      return;
    }
    String path = meta.getPath().getText();
    throw new AnfException(
        ErrorCode.NOT_AUTHORIZED,
        "key "
            + Ed25519.publicKeyText(signer)
            + " does not hold "
            + right.name().substring("RIGHT_".length())
            + " in scope '"
            + (path.isEmpty() ? "(root)" : path)
            + "'");
  }

  /** A node hosts one root scope: the genesis of another is refused before it is logged. */
  private void refuseSecondRoot(Mutation m) {
    if (!m.hasCreateScope() || m.getCreateScope().getParentScopeId() != 0) {
      return;
    }
    Long root = registry.root();
    if (root != null && root != m.getScopeId()) {
      throw new AnfException(
          ErrorCode.ALREADY_EXISTS,
          "anchor "
              + getId()
              + " already hosts the root scope "
              + ScopeIds.text(root)
              + "; a fabric has one root (create a child scope instead)");
    }
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = java.util.Objects.requireNonNull(trx.getLogEntry());
    long index = entry.getIndex();
    long term = entry.getTerm();
    ScopeRegistry.ApplyHook hook = registry.applyHook();
    if (hook != null) {
      hook.beforeApply(scopeId, index);
    }
    ScopeStore s = store();
    if (index <= s.applied().index()) {
      // Already in RocksDB (replay after a restart): nothing to do, nobody waits for a reply.
      updateLastAppliedTermIndex(term, index);
      trackFreshness(index);
      return CompletableFuture.completedFuture(Message.EMPTY);
    }
    GroupCommand cmd;
    try {
      cmd = GroupCommand.parseFrom(entry.getStateMachineLogEntry().getLogData().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      // It parsed on the leader before it was logged: only a damaged log gets here.
      throw new IllegalStateException(
          "scope " + scopeText() + ": log entry " + index + " does not parse", e);
    }
    java.util.Map<Integer, org.anf.proto.v1.Refusal> refused = new java.util.HashMap<>();
    cmd.getRefusedList().forEach(r -> refused.put(r.getIndex(), r.getRefusal()));
    GroupReply.Builder reply = GroupReply.newBuilder();
    s.begin();
    for (int i = 0; i < cmd.getMutationsCount(); i++) {
      org.anf.proto.v1.Refusal pre = refused.get(i);
      if (pre != null) {
        reply.addReplies(MutationReply.newBuilder().setRefused(pre));
        continue;
      }
      reply.addReplies(applyOne(s, cmd.getMutations(i)));
    }
    s.commit(new NodeStore.Applied(term, index));
    registry.metrics().batch(cmd.getMutationsCount());
    updateLastAppliedTermIndex(term, index);
    trackFreshness(index);
    return CompletableFuture.completedFuture(
        Message.valueOf(ByteString.copyFrom(reply.build().toByteArray())));
  }

  private MutationReply applyOne(ScopeStore s, SignedMutation signed) {
    long started = System.nanoTime();
    Outcome o = Transitions.apply(s, signed, Transitions.Verify.ALREADY_VERIFIED);
    if (o instanceof Outcome.Applied a) {
      s.stage(a.writes());
      MutationReply.Builder b = MutationReply.newBuilder().setApplied(a.entry());
      Uid uid = a.uid();
      if (uid != null) {
        b.setUid(uid.toProto());
      }
      registry.metrics().committed(Duration.ofNanos(System.nanoTime() - started));
      registry.applied(scopeId, a.entry());
      if (createsScope(a.entry())) {
        noteRoot();
      }
      return b.build();
    }
    if (o instanceof Outcome.Duplicate d) {
      return MutationReply.newBuilder().setDuplicate(d.entry()).build();
    }
    registry.metrics().refused();
    return MutationReply.newBuilder()
        .setRefused(RefusedException.refusal(((Outcome.Refused) o).error()))
        .build();
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    try {
      GroupQuery q = GroupQuery.parseFrom(request.getContent().toByteArray());
      if (!q.hasLookup()) {
        throw AnfException.invalid("query", "no query in the request");
      }
      LookupResult r = lookup(q.getLookup());
      return CompletableFuture.completedFuture(
          Message.valueOf(
              ByteString.copyFrom(GroupReply.newBuilder().setLookup(r).build().toByteArray())));
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(
          RefusedException.of(AnfException.invalid("query", "does not parse")));
    } catch (AnfException e) {
      return CompletableFuture.failedFuture(RefusedException.of(e));
    }
  }

  @Override
  public CompletableFuture<Message> queryStale(Message request, long minIndex) {
    if (appliedIndex() < minIndex) {
      return CompletableFuture.failedFuture(
          RefusedException.of(
              new AnfException(
                  ErrorCode.UNAVAILABLE,
                  "this anchor has applied up to " + appliedIndex() + ", below " + minIndex)));
    }
    return query(request);
  }

  /** Best-match lookup against this node's copy of the scope (freshness is the caller's). */
  public LookupResult lookup(LookupRequest req) {
    ScopeStore s = store();
    return s.read(
        () -> {
          ScopeState state = new ScopeState(s);
          LookupResult.Builder b =
              switch (req.getTargetCase()) {
                case ALIAS ->
                    ScopeLookup.lookup(
                        state,
                        org.anf.lineage.alias.Alias.fromProto(req.getAlias()),
                        req.getScopeLabels() > 0 ? req.getScopeLabels() : -1);
                case UID -> ScopeLookup.lookupUid(state, Uid.fromProto(req.getUid()));
                case TARGET_NOT_SET ->
                    throw AnfException.invalid("target", "name an alias or a UID");
              };
          b.getFreshnessBuilder()
              .setLineageSeq(state.headSeq())
              .setLineageHead(com.google.protobuf.ByteString.copyFrom(state.headHash()));
          return b.build();
        });
  }

  /**
   * Ratis calls this on the apply thread, every {@code snapshot_every_entries} applied entries (and
   * then after each apply round until it gets a newer index), when the group stops, and when an
   * operator asks for one; it purges its log up to the index returned.
   *
   * <p>An automatic snapshot, and a stop's, is RocksDB itself ({@link PinnedSnapshot}): the apply
   * thread freezes the scope with a RocksDB snapshot, and a thread of its own flushes RocksDB's
   * memtables, which makes that state durable (RocksDB keeps no WAL here). Until the flush is done
   * Ratis is given -1, "no new snapshot", so no log entry is purged before the state it made is on
   * disk. No file is written: the scope's file (a full copy, hundreds of MB for a large scope) is
   * written from the frozen view only if a follower needs it. A stop's flush runs here.
   *
   * <p>An operator's snapshot is a file, written here: Ratis answers the request with the index
   * returned, and the operator downloads that file.
   */
  @Override
  public long takeSnapshot() throws IOException {
    try {
      boolean operator = syncSnapshots.get() > 0;
      boolean stopping = !operator && closing();
      synchronized (snapshotLock) {
        PendingSnapshot p = pendingSnapshot;
        if (p != null) {
          if (!operator && !stopping && !p.flushed().isDone()) {
            return -1;
          }
          pendingSnapshot = null;
          try {
            snapshotDurable(p.pinned(), awaitFlushed(p), true);
            if (!operator) {
              return p.pinned().getIndex();
            }
          } catch (RuntimeException e) {
            p.pinned().retire();
            if (!operator && !stopping) {
              throw e;
            }
            LOG.warn("scope {}: background snapshot failed: {}", scopeText(), e.getMessage());
          }
        }
        NodeStore.Applied at = store().applied();
        if (at.index() < 0) {
          return -1;
        }
        if (operator) {
          return writeFile(at);
        }
        org.apache.ratis.statemachine.SnapshotInfo current = storage.getLatestSnapshot();
        if (current != null && current.getIndex() >= at.index()) {
          return current.getIndex();
        }
        // Nothing else writes the scope while the apply thread is here.
        NodeStore.ScopeView view = registry.store().view(scopeId);
        at = view.applied();
        PinnedSnapshot pinned = pinned(view);
        if (stopping) {
          long started = System.nanoTime();
          try {
            registry.store().flush();
          } catch (RuntimeException e) {
            pinned.retire();
            throw e;
          }
          snapshotDurable(pinned, System.nanoTime() - started, false);
          return at.index();
        }
        pendingSnapshot = startFlush(pinned);
        return -1;
      }
    } catch (RuntimeException e) {
      // Ratis logs a failed snapshot given as an IOException and goes on (the log stays whole, the
      // next snapshot is tried later). Anything else puts its state-machine updater in a loop that
      // retries the snapshot at full speed and never lets the server close (seen with the data
      // directory gone: ~10,000 error lines a second, a stop that never ended).
      throw new IOException(
          "scope " + scopeText() + ": cannot take a snapshot: " + e.getMessage(), e);
    }
  }

  /** An operator's snapshot: the scope's file at {@code at}, written on the apply thread. */
  private long writeFile(NodeStore.Applied at) {
    SingleFileSnapshotInfo file = storage.latestFile();
    if (file != null && file.getIndex() == at.index()) {
      return at.index();
    }
    ScopeSnapshots.Written w;
    Path path;
    try (NodeStore.ScopeView view = registry.store().view(scopeId)) {
      at = view.applied();
      path = storage.fileFor(at.term(), at.index());
      w = ScopeSnapshots.write(view, path);
    }
    storage.update(path, at.term(), at.index());
    compactLineage(store());
    LOG.info(
        "scope {}: snapshot at index {} ({}, {} bytes) written in {} ms ({} ms CPU), applies held"
            + " meanwhile",
        scopeText(),
        at.index(),
        path.getFileName(),
        w.bytes(),
        w.wallMs(),
        w.cpuMs());
    return at.index();
  }

  private record PendingSnapshot(PinnedSnapshot pinned, CompletableFuture<Long> flushed) {}

  /** The scope as {@code view} froze it, as a snapshot whose file goes beside the others. */
  private PinnedSnapshot pinned(NodeStore.ScopeView view) {
    NodeStore.Applied at = view.applied();
    return new PinnedSnapshot(
        scopeText(), view, storage.fileFor(at.term(), at.index()), storage::written);
  }

  /** Flushes RocksDB on a thread of its own; the future gives the flush's wall time (ns). */
  private PendingSnapshot startFlush(PinnedSnapshot pinned) {
    long index = pinned.getIndex();
    CompletableFuture<Long> flushed = new CompletableFuture<>();
    Thread t =
        new Thread(
            () -> {
              try {
                ScopeRegistry.ApplyHook hook = registry.applyHook();
                if (hook != null) {
                  hook.beforeSnapshotFlush(scopeId, index);
                }
                long started = System.nanoTime();
                registry.store().flush();
                flushed.complete(System.nanoTime() - started);
              } catch (Throwable e) {
                flushed.completeExceptionally(e);
              }
            },
            "anf-snapshot-" + scopeText() + "-" + index);
    t.setDaemon(true);
    t.start();
    return new PendingSnapshot(pinned, flushed);
  }

  private static long awaitFlushed(PendingSnapshot p) {
    try {
      return p.flushed().get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted while RocksDB was flushed", e);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      throw c instanceof RuntimeException r
          ? r
          : new AnfException(ErrorCode.INTERNAL, String.valueOf(c), c);
    }
  }

  /** On the apply thread, once a pinned snapshot's state is on disk. */
  private void snapshotDurable(PinnedSnapshot pinned, long flushNanos, boolean background) {
    storage.offer(pinned);
    compactLineage(store());
    LOG.info(
        "scope {}: snapshot at index {}: RocksDB flushed in {} ms{}; a file is written only if a"
            + " follower needs one",
        scopeText(),
        pinned.getIndex(),
        TimeUnit.NANOSECONDS.toMillis(flushNanos),
        background ? " while applies went on" : "");
  }

  /**
   * While held, every snapshot is written on the apply thread: an operator's snapshot request is
   * answered with the index {@link #takeSnapshot} returns, which must be the snapshot just taken.
   */
  public SyncSnapshots holdSynchronousSnapshots() {
    syncSnapshots.incrementAndGet();
    return syncSnapshots::decrementAndGet;
  }

  /** See {@link #holdSynchronousSnapshots}. */
  public interface SyncSnapshots extends AutoCloseable {
    @Override
    void close();
  }

  /** Whether the group is stopping (Ratis then takes its last snapshot and closes this). */
  private boolean closing() {
    RaftServer.Division d = division();
    return d != null && !d.getInfo().isAlive();
  }

  /**
   * Waits for a snapshot's flush, if one runs, and forgets it; then releases every pinned snapshot
   * (waiting for files being written from them).
   */
  private void releaseSnapshots() {
    synchronized (snapshotLock) {
      PendingSnapshot p = pendingSnapshot;
      pendingSnapshot = null;
      if (p != null) {
        try {
          awaitFlushed(p);
        } catch (RuntimeException e) {
          LOG.warn(
              "scope {}: snapshot at index {} failed: {}",
              scopeText(),
              p.pinned().getIndex(),
              e.getMessage());
        }
        p.pinned().retire();
      }
      storage.releaseAll();
    }
  }

  /** Drops lineage entries older than the retention, if one is set; the head always stays. */
  private void compactLineage(ScopeStore s) {
    long retain = registry.lineageRetainEntries();
    if (retain <= 0) {
      return;
    }
    long head = new ScopeState(s).headSeq();
    long keepFrom = head - retain + 1;
    if (keepFrom > 1) {
      registry.store().deleteLineageBelow(scopeId, keepFrom);
    }
  }

  /** The first lineage seq still stored here (history below it was compacted), 1 if none was. */
  public long firstRetainedSeq() {
    long[] first = {0};
    registry
        .store()
        .scan(
            scopeId,
            StateKeys.lineage(0),
            StateKeys.column((byte) (StateKeys.LINEAGE + 1)),
            (k, v) -> {
              first[0] = Bytes.toLong(k, 1);
              return false;
            });
    return first[0] == 0 ? 1 : first[0];
  }

  private static boolean createsScope(org.anf.proto.v1.LineageEntry e) {
    for (EffectItem i : e.getEffect().getItemsList()) {
      if (i.getKind() == EffectKind.EFFECT_KIND_SCOPE_CREATED) {
        return true;
      }
    }
    return false;
  }

  /** Tells the registry when this scope is a root whose genesis is applied here. */
  private void noteRoot() {
    ScopeMeta meta = store().read(() -> state().metaOrNull());
    if (meta != null && meta.getParentScopeId() == 0) {
      registry.rootApplied(scopeId);
    }
  }

  /** This replica's Raft division, once the server has it. */
  private RaftServer.@Nullable Division division() {
    RaftServer.Division d = division;
    if (d == null) {
      RaftServer server = getServer().getNow(null);
      if (server == null) {
        return null;
      }
      try {
        d = server.getDivision(getGroupId());
      } catch (IOException e) {
        return null;
      }
      division = d;
    }
    return d;
  }

  /** The last log index applied here, -1 before any. */
  public long appliedIndex() {
    org.apache.ratis.server.protocol.TermIndex ti = getLastAppliedTermIndex();
    return ti == null ? -1 : ti.getIndex();
  }

  /**
   * On the apply thread, after each entry: once the commit index known at a sample time is applied,
   * this replica held everything committed as of then. Under a steady stream of writes it is never
   * quite caught up, yet this keeps how far behind it is measured in milliseconds.
   */
  private void trackFreshness(long index) {
    if (sampleNanos != NEVER && index < sampleIndex) {
      return;
    }
    if (sampleNanos != NEVER) {
      markFresh(sampleNanos);
    }
    RaftServer.Division d = division();
    long now = System.nanoTime();
    long committed = d == null ? Long.MAX_VALUE : d.getRaftLog().getLastCommittedIndex();
    if (index >= committed) {
      markFresh(now);
      sampleNanos = NEVER;
    } else {
      sampleIndex = committed;
      sampleNanos = now;
    }
  }

  private void markFresh(long nanos) {
    freshAt.accumulateAndGet(nanos, ScopeStateMachine::later);
  }

  private static long later(long cur, long t) {
    return cur == NEVER || t - cur > 0 ? t : cur;
  }

  /** Records that the leader was heard from {@code agoMs} ago (or this replica leads, at 0). */
  public void noteContact(long agoMs) {
    contactAt.accumulateAndGet(
        System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(agoMs), ScopeStateMachine::later);
  }

  /** Milliseconds since a leader was last known heard from, Long.MAX_VALUE if never. */
  public long contactAgeMs() {
    long c = contactAt.get();
    return c == NEVER ? Long.MAX_VALUE : TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - c);
  }

  /**
   * How far this replica's state may lag what it knows to be committed: 0 when it has applied up to
   * {@code knownCommitted}, else the milliseconds since it last had (Long.MAX_VALUE if it never had
   * since it started).
   */
  public long lagMs(long knownCommitted) {
    long now = System.nanoTime();
    if (appliedIndex() >= knownCommitted) {
      markFresh(now);
      return 0;
    }
    long f = freshAt.get();
    return f == NEVER ? Long.MAX_VALUE : TimeUnit.NANOSECONDS.toMillis(now - f);
  }

  /** Milliseconds since this replica of the scope started here. */
  public long upMs() {
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
  }

  /** How many snapshots this replica installed from its leader (its log was purged past it). */
  public long snapshotsInstalled() {
    return snapshotsInstalled.get();
  }

  @Override
  public void notifyLeaderChanged(
      org.apache.ratis.protocol.RaftGroupMemberId groupMemberId,
      org.apache.ratis.protocol.RaftPeerId newLeaderId) {
    registry.metrics().leaderChanged();
    LOG.info("scope {}: leader is now {}", scopeText(), newLeaderId);
  }

  /** The latest snapshot Ratis knows of (its log may be purged up to it), null if none. */
  public org.apache.ratis.statemachine.@Nullable SnapshotInfo latestSnapshot() {
    return storage.getLatestSnapshot();
  }

  /**
   * A snapshot file at {@code index} or later: the newest in {@code sm/}, or, when the latest
   * snapshot is RocksDB pinned at {@code index} or later (Ratis answers an operator's request with
   * it when nothing was applied since), that one's file, written now if it was not yet.
   */
  public @Nullable SingleFileSnapshotInfo snapshotFile(long index) {
    SingleFileSnapshotInfo f = storage.latestFile();
    if (f != null && f.getIndex() >= index) {
      return f;
    }
    if (storage.getLatestSnapshot() instanceof PinnedSnapshot p && p.getIndex() >= index) {
      try {
        p.getFiles();
      } catch (IllegalStateException e) {
        throw new AnfException(
            ErrorCode.UNAVAILABLE, "a newer snapshot replaced " + index + " meanwhile; retry", e);
      }
      return storage.latestFile();
    }
    return f;
  }

  /** The newest snapshot file in {@code sm/} (an operator's, or one installed or sent), or null. */
  public @Nullable SingleFileSnapshotInfo latestSnapshotFile() {
    return storage.latestFile();
  }

  @Override
  public void close() throws IOException {
    // Pinned snapshots hold RocksDB snapshots, and a file may be being written from one; the node
    // closes RocksDB after its groups.
    releaseSnapshots();
    registry.unregister(scopeId, this);
    super.close();
  }

  private String scopeText() {
    return ScopeIds.text(scopeId);
  }
}
