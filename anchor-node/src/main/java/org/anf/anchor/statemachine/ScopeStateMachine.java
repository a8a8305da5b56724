package org.anf.anchor.statemachine;

import com.google.protobuf.InvalidProtocolBufferException;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.anf.anchor.store.ScopeStore;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.lookup.ScopeLookup;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.GroupCommand;
import org.anf.proto.v1.GroupQuery;
import org.anf.proto.v1.GroupReply;
import org.anf.proto.v1.IndexedRefusal;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.MutationReply;
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
 *       that does not parse, or one the scope's state refuses.
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

  private final long scopeId;
  private final ScopeRegistry registry;
  private final SnapshotStorage storage = new SnapshotStorage();
  private volatile @Nullable ScopeStore store;

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
            });
  }

  /**
   * Brings RocksDB at least up to the latest snapshot. Ratis replays its log from the snapshot's
   * index, which is what we report; entries RocksDB already holds are skipped in {@link
   * #applyTransaction}, since the store records its own applied index.
   */
  private void recover() throws IOException {
    ScopeStore s = store();
    SingleFileSnapshotInfo snap = storage.getLatestSnapshot();
    if (snap != null && snap.getIndex() > s.applied().index()) {
      install(snap.getFile().getPath());
    }
    if (snap != null && snap.getIndex() > getLastAppliedTermIndex().getIndex()) {
      setLastAppliedTermIndex(snap.getTermIndex());
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
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  @Override
  public void reinitialize() throws IOException {
    // Ratis just replaced sm/ with the leader's snapshot: load it.
    storage.rescan();
    SingleFileSnapshotInfo snap = storage.getLatestSnapshot();
    if (snap != null && snap.getIndex() > store().applied().index()) {
      install(snap.getFile().getPath());
    }
    recover();
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  /**
   * Before anything is logged (leader): the command parses, and every mutation's signature is
   * checked, once, here. A batch whose mutations all fail is refused outright; otherwise the
   * failures are recorded by index in the logged entry, answered with their refusal at apply and
   * never applied. What the state decides (policy, preconditions) is decided at apply, on every
   * replica alike: a leader elected a moment ago may still be applying, so its view here could be
   * behind.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    TransactionContext trx = super.startTransaction(request);
    try {
      GroupCommand cmd = GroupCommand.parseFrom(request.getMessage().getContent().toByteArray());
      if (cmd.getMutationsCount() == 0) {
        throw AnfException.invalid("command", "no mutation in the command");
      }
      GroupCommand.Builder checked = null;
      AnfException lastRefusal = null;
      for (int i = 0; i < cmd.getMutationsCount(); i++) {
        try {
          Transitions.verifySignature(cmd.getMutations(i));
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
        } else {
          return TransactionContext.newBuilder()
              .setStateMachine(this)
              .setClientRequest(request)
              .setLogData(ByteString.copyFrom(checked.build().toByteArray()))
              .build();
        }
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

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = java.util.Objects.requireNonNull(trx.getLogEntry());
    long index = entry.getIndex();
    long term = entry.getTerm();
    ScopeStore s = store();
    if (index <= s.applied().index()) {
      // Already in RocksDB (replay after a restart): nothing to do, nobody waits for a reply.
      updateLastAppliedTermIndex(term, index);
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
    return CompletableFuture.completedFuture(
        Message.valueOf(ByteString.copyFrom(reply.build().toByteArray())));
  }

  private MutationReply applyOne(ScopeStore s, org.anf.proto.v1.SignedMutation m) {
    long started = System.nanoTime();
    Outcome o = Transitions.apply(s, m, Transitions.Verify.ALREADY_VERIFIED);
    if (o instanceof Outcome.Applied a) {
      s.stage(a.writes());
      MutationReply.Builder b = MutationReply.newBuilder().setApplied(a.entry());
      Uid uid = a.uid();
      if (uid != null) {
        b.setUid(uid.toProto());
      }
      registry.metrics().committed(Duration.ofNanos(System.nanoTime() - started));
      registry.applied(scopeId, a.entry());
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
    if (getLastAppliedTermIndex().getIndex() < minIndex) {
      return CompletableFuture.failedFuture(
          RefusedException.of(
              new AnfException(
                  ErrorCode.UNAVAILABLE,
                  "this anchor has applied up to "
                      + getLastAppliedTermIndex().getIndex()
                      + ", below "
                      + minIndex)));
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

  @Override
  public long takeSnapshot() throws IOException {
    ScopeStore s = store();
    NodeStore.Applied at = s.applied();
    if (at.index() < 0) {
      return -1;
    }
    SingleFileSnapshotInfo current = storage.getLatestSnapshot();
    if (current != null && current.getIndex() == at.index()) {
      return at.index();
    }
    Path file = storage.fileFor(at.term(), at.index());
    ScopeSnapshots.write(registry.store(), scopeId, at, file);
    storage.update(file, at.term(), at.index());
    compactLineage(s);
    LOG.info("scope {}: snapshot at index {} ({})", scopeText(), at.index(), file.getFileName());
    return at.index();
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

  @Override
  public void notifyLeaderChanged(
      org.apache.ratis.protocol.RaftGroupMemberId groupMemberId,
      org.apache.ratis.protocol.RaftPeerId newLeaderId) {
    registry.metrics().leaderChanged();
    LOG.info("scope {}: leader is now {}", scopeText(), newLeaderId);
  }

  public @Nullable SingleFileSnapshotInfo latestSnapshot() {
    return storage.getLatestSnapshot();
  }

  @Override
  public void close() throws IOException {
    registry.unregister(scopeId, this);
    super.close();
  }

  private String scopeText() {
    return org.anf.lineage.state.ScopeIds.text(scopeId);
  }
}
