package org.anf.anchor.structure;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.statemachine.RefusedException;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.transition.Exports;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;

/**
 * The coordinator's view of the fabric through this node: steps go through the scope's Raft group
 * (to its leader, wherever that is), reads come from this node's replica once it has applied every
 * step the coordinator saw committed, so an export never misses the intent it follows.
 */
final class NodeGateway implements StructureCoordinator.Gateway {
  static final long STEP_TIMEOUT_MS = 30_000;

  private final ScopeGroups groups;
  private final ScopeRegistry registry;
  private final Map<Long, Long> seen = new ConcurrentHashMap<>();
  final List<LineageEntry> appended = new ArrayList<>();

  NodeGateway(ScopeGroups groups, ScopeRegistry registry) {
    this.groups = groups;
    this.registry = registry;
  }

  @Override
  public LineageEntry submit(long scopeId, SignedMutation mutation) {
    MutationReply r;
    try {
      r = groups.submit(scopeId, mutation).get(STEP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted submitting a step");
    } catch (TimeoutException e) {
      throw new AnfException(
          ErrorCode.TIMEOUT,
          "scope " + ScopeIds.text(scopeId) + " did not commit a step within " + STEP_TIMEOUT_MS);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof AnfException a) {
        throw a;
      }
      throw new AnfException(ErrorCode.UNAVAILABLE, "submitting a step: " + c, c);
    }
    LineageEntry entry =
        switch (r.getOutcomeCase()) {
          case APPLIED -> r.getApplied();
          case DUPLICATE -> r.getDuplicate();
          case REFUSED -> throw RefusedException.toException(r.getRefused());
          default -> throw new AnfException(ErrorCode.INTERNAL, "the group sent no outcome");
        };
    seen.merge(scopeId, entry.getSeq(), Math::max);
    if (r.hasApplied()) {
      appended.add(entry);
    }
    return entry;
  }

  /** Reads this node's replica of a scope after it caught up with every step seen here. */
  <T> T read(long scopeId, Function<ScopeState, T> reader) {
    ScopeStateMachine sm = registry.get(scopeId);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(STEP_TIMEOUT_MS);
    long want = seen.getOrDefault(scopeId, 0L);
    if (sm == null && !groups.hosts(scopeId)) {
      // Not hosted at all (rather than not yet applied): every step would be refused here.
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE,
          "scope "
              + ScopeIds.text(scopeId)
              + " is not hosted on this anchor, which takes every step of the transaction; send"
              + " it to an anchor of every scope concerned");
    }
    while (true) {
      if (sm == null) {
        sm = registry.get(scopeId);
      }
      if (sm != null) {
        ScopeStateMachine s = sm;
        long at = s.store().read(() -> s.state().exists() ? s.state().headSeq() : 0L);
        if (at >= want && at > 0) {
          return s.store().read(() -> reader.apply(s.state()));
        }
      }
      if (System.nanoTime() > deadline) {
        throw new AnfException(
            ErrorCode.UNAVAILABLE,
            "this anchor's replica of scope "
                + ScopeIds.text(scopeId)
                + " did not reach seq "
                + want
                + " in time");
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted waiting for a replica");
      }
    }
  }

  @Override
  public List<ExportedEntry> export(long scopeId, String relativePath) {
    return read(scopeId, s -> Exports.subtree(s, relativePath));
  }

  @Override
  public ScopeMeta meta(long scopeId) {
    return read(scopeId, ScopeState::meta);
  }

  @Override
  public long headSeq(long scopeId) {
    return read(scopeId, ScopeState::headSeq);
  }

  @Override
  public ByteString headHash(long scopeId) {
    return read(scopeId, s -> ByteString.copyFrom(s.headHash()));
  }

  @Override
  public void createGroup(long scopeId, AnchorMap anchors) {
    groups.createGroup(scopeId, anchors);
    groups.awaitLeader(scopeId, STEP_TIMEOUT_MS);
  }

  @Override
  public void dissolveGroup(long scopeId) {
    groups.dissolve(scopeId);
  }
}
