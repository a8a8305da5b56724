package org.anf.anchor.rpc;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.metrics.AnchorMetrics;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.NodeInfo;
import org.anf.proto.v1.ScopeMeta;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;

/** What the services of one node share: its groups, registry, meters, limits. */
public final class NodeContext {
  final String nodeId;
  final ScopeGroups groups;
  final ScopeRegistry registry;
  final AnchorMetrics metrics;
  final Duration boundedStalenessDefault;
  final int maxMutationBytes;
  final NodeInfo.Builder info;
  public final java.util.List<org.anf.proto.v1.AnchorInfo> peers =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final AtomicLong rootScope = new AtomicLong();

  public NodeContext(
      String nodeId,
      ScopeGroups groups,
      ScopeRegistry registry,
      AnchorMetrics metrics,
      Duration boundedStalenessDefault,
      int maxMutationBytes,
      NodeInfo.Builder info) {
    this.nodeId = nodeId;
    this.groups = groups;
    this.registry = registry;
    this.metrics = metrics;
    this.boundedStalenessDefault = boundedStalenessDefault;
    this.maxMutationBytes = maxMutationBytes;
    this.info = info;
  }

  /** The scope a request names; 0 means the root (which must be hosted here). */
  long scopeId(long requested) {
    if (requested != 0) {
      return requested;
    }
    long cached = rootScope.get();
    if (cached != 0 && registry.get(cached) != null) {
      return cached;
    }
    for (ScopeStateMachine sm : registry.all().values()) {
      ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
      if (meta != null && meta.getParentScopeId() == 0) {
        rootScope.set(sm.scopeId());
        return sm.scopeId();
      }
    }
    throw new AnfException(
        ErrorCode.UNKNOWN_SCOPE, "anchor " + nodeId + " does not host the root scope");
  }

  /**
   * A scope group hosted here, whether or not this replica has applied its genesis yet: enough to
   * forward a write to the group's leader.
   */
  ScopeStateMachine hosted(long requested) {
    long id = scopeId(requested);
    ScopeStateMachine sm = registry.get(id);
    if (sm == null) {
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE,
          "scope " + ScopeIds.text(id) + " is not hosted on anchor " + nodeId);
    }
    return sm;
  }

  /** A scope hosted here whose state this replica can read (its genesis is applied). */
  ScopeStateMachine scope(long requested) {
    long id = scopeId(requested);
    ScopeStateMachine sm = registry.get(id);
    if (sm == null) {
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE,
          "scope " + ScopeIds.text(id) + " is not hosted on anchor " + nodeId);
    }
    if (!sm.state().exists()) {
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE,
          "scope " + ScopeIds.text(id) + " has no genesis yet on " + nodeId);
    }
    return sm;
  }

  /** How far this anchor may be behind its group's leader, as far as it can tell. */
  record Staleness(boolean leader, boolean leaderKnown, long ageMs) {}

  Staleness staleness(long scopeId) {
    RaftServer.Division d = groups.division(scopeId);
    DivisionInfo info = d.getInfo();
    if (info.isLeader()) {
      return new Staleness(true, true, info.isLeaderReady() ? 0 : Long.MAX_VALUE);
    }
    RoleInfoProto ri = info.getRoleInfoProto();
    boolean known = info.getLeaderId() != null;
    long age = Long.MAX_VALUE;
    if (ri.hasFollowerInfo() && ri.getFollowerInfo().hasLeaderInfo()) {
      age = ri.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
    }
    return new Staleness(false, known, known ? age : Long.MAX_VALUE);
  }
}
