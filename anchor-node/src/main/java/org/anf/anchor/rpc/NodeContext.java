package org.anf.anchor.rpc;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.metrics.AnchorMetrics;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.NodeInfo;
import org.apache.ratis.proto.RaftProtos.CommitInfoProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;

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

  /**
   * The scope a request names; 0 means the root (which must be hosted here). The registry picks the
   * same root for every request and across restarts (see {@link ScopeRegistry#root}).
   */
  long scopeId(long requested) {
    if (requested != 0) {
      return requested;
    }
    Long root = registry.root();
    if (root == null) {
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE, "anchor " + nodeId + " does not host the root scope");
    }
    return root;
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

  /**
   * How far this anchor may be behind its group's leader, as far as it can tell.
   *
   * @param leaderKnown a leader is known and, if it is this anchor, ready
   * @param ageMs an upper bound on how old the answer may be: the time since the last contact with
   *     a leader (on a ready leader, since it last heard from a quorum), plus, when this anchor has
   *     not applied everything it knows committed, how long ago it last had; Long.MAX_VALUE when it
   *     cannot tell
   * @param appliedAll this anchor has applied up to the commit index it learned from its leader
   */
  record Staleness(boolean leader, boolean leaderKnown, long ageMs, boolean appliedAll) {}

  /**
   * How long ago this leader last heard from a majority of its group: the age of the newest reply
   * from enough followers to make a quorum with itself. A leader cut off from its followers keeps
   * believing it leads until it steps down, an election timeout later; until then its state is no
   * fresher than this. 0 for a group of one.
   */
  static long quorumContactMs(RaftServer.Division d) {
    Set<ByteString> voters = new HashSet<>();
    for (RaftPeer p : d.getRaftConf().getCurrentPeers()) {
      voters.add(p.getId().toByteString());
    }
    int needed = voters.size() / 2; // followers that, with the leader, are a majority
    if (needed == 0) {
      return 0;
    }
    RoleInfoProto ri = d.getInfo().getRoleInfoProto();
    if (!ri.hasLeaderInfo()) {
      return Long.MAX_VALUE;
    }
    List<Long> ages = new ArrayList<>();
    for (var f : ri.getLeaderInfo().getFollowerInfoList()) {
      if (voters.contains(f.getId().getId())) {
        ages.add(f.getLastRpcElapsedTimeMs());
      }
    }
    if (ages.size() < needed) {
      return Long.MAX_VALUE;
    }
    Collections.sort(ages);
    return ages.get(needed - 1);
  }

  Staleness staleness(ScopeStateMachine sm) {
    RaftServer.Division d = groups.division(sm.scopeId());
    DivisionInfo info = d.getInfo();
    long committed = d.getRaftLog().getLastCommittedIndex();
    boolean leader = info.isLeader();
    boolean known;
    long contactMs = Long.MAX_VALUE;
    long noLeaderMs = 0;
    if (leader) {
      known = info.isLeaderReady();
      if (known) {
        contactMs = quorumContactMs(d);
      }
    } else {
      RaftPeerId leaderId = info.getLeaderId();
      known = leaderId != null;
      RoleInfoProto ri = info.getRoleInfoProto();
      if (known && ri.hasFollowerInfo() && ri.getFollowerInfo().hasLeaderInfo()) {
        contactMs = ri.getFollowerInfo().getLeaderInfo().getLastRpcElapsedTimeMs();
      } else if (ri.hasCandidateInfo() && ri.getCandidateInfo().getLastLeaderElapsedTimeMs() > 0) {
        // Ratis counts from when it gave the leader up, which takes an election timeout of
        // silence: the last contact was at least that much earlier.
        noLeaderMs =
            ri.getCandidateInfo().getLastLeaderElapsedTimeMs() + d.properties().minRpcTimeoutMs();
      }
      if (leaderId != null) {
        // The leader's own commit index, as it last told us: our log may not hold it all yet.
        ByteString id = leaderId.toByteString();
        for (CommitInfoProto c : d.getCommitInfos()) {
          if (c.getServer().getId().equals(id)) {
            committed = Math.max(committed, c.getCommitIndex());
          }
        }
      }
    }
    if (contactMs != Long.MAX_VALUE) {
      sm.noteContact(contactMs);
    } else {
      // No leader to ask (or one not ready yet): the last contact seen here, and at least as
      // long as the group has been without a leader.
      contactMs = sm.contactAgeMs();
      if (noLeaderMs > 0) {
        contactMs = contactMs == Long.MAX_VALUE ? noLeaderMs : Math.max(contactMs, noLeaderMs);
      }
    }
    long lagMs = sm.lagMs(committed);
    long age =
        contactMs == Long.MAX_VALUE || lagMs == Long.MAX_VALUE ? Long.MAX_VALUE : contactMs + lagMs;
    return new Staleness(leader, known, age, lagMs == 0);
  }
}
