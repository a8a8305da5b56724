package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.LookupBatchRequest;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SnapshotRequest;
import org.junit.jupiter.api.Test;

/**
 * Three anchor nodes hosting five scopes on real Ratis, RocksDB and gRPC over loopback: commits are
 * visible everywhere, a killed leader loses nothing acknowledged, a restarted node catches up (from
 * the log, or from a snapshot once the log is purged), and every replica ends with the same state
 * digest and lineage head.
 */
class AnchorClusterIT {
  static final Duration WAIT = Duration.ofSeconds(30);

  static ObjectRecord rec(int port) {
    return ObjectRecord.newBuilder()
        .addEndpoints(Endpoint.newBuilder().setHost("10.0.0.1").setPort(port))
        .build();
  }

  /** Binds n aliases under prefix through the given node; returns what was acknowledged. */
  static Map<String, Uid> bind(TestCluster c, int node, long scope, String prefix, int n) {
    Map<String, Uid> acked = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String alias = prefix + "/n" + i;
      var r = c.submit(node, c.factory.bind(scope, Alias.parse(alias), rec(1000 + i)));
      acked.put(alias, Uid.fromProto(r.getUid()));
    }
    return acked;
  }

  /** True when the node's own copy of the scope holds every acknowledged binding. */
  static boolean holds(TestCluster c, int node, long scope, Map<String, Uid> acked) {
    LookupBatchRequest.Builder b = LookupBatchRequest.newBuilder();
    for (String a : acked.keySet()) {
      b.addRequests(
          LookupRequest.newBuilder()
              .setScopeId(scope)
              .setAlias(Alias.parse(a).toProto())
              .setConsistency(Consistency.CONSISTENCY_ANY));
    }
    List<LookupResult> rs = c.anchors(node).lookupBatch(b.build()).getResultsList();
    int i = 0;
    for (Uid expected : acked.values()) {
      LookupResult r = rs.get(i++);
      if (r.getStatus() != LookupStatus.LOOKUP_STATUS_EXACT
          || !Uid.fromProto(r.getUid()).equals(expected)) {
        return false;
      }
    }
    return true;
  }

  static void awaitConverged(TestCluster c, long scope, int... nodes) {
    TestCluster.await(
        "replicas of " + Long.toHexString(scope) + " converge",
        WAIT,
        () -> {
          // Compared as bytes: a digest is not text.
          Set<List<ByteString>> digests = new HashSet<>();
          Set<Long> heads = new HashSet<>();
          for (int n : nodes) {
            ScopeStatus s = c.status(n, scope);
            if (s.getStateDigest().isEmpty()) {
              return false;
            }
            digests.add(List.of(s.getStateDigest(), s.getLineageHead()));
            heads.add(s.getLineageSeq());
          }
          return digests.size() == 1 && heads.size() == 1;
        });
  }

  static int leaderOf(TestCluster c, long scope) {
    for (int i = 0; i < c.size(); i++) {
      if (c.running(i)) {
        String leader = c.status(i, scope).getLeaderId();
        for (int j = 0; j < c.size(); j++) {
          if (TestCluster.id(j).equals(leader)) {
            return j;
          }
        }
      }
    }
    throw new AssertionError("no leader known for scope " + Long.toHexString(scope));
  }

  @Test
  void fiveScopesOnThreeNodesSurviveLeaderLossRestartAndSnapshots() throws Exception {
    // A purge gap below what one snapshot covers, so that the snapshot really truncates the log.
    try (TestCluster c = new TestCluster(3, TestCluster.Options.DEFAULT.withPurgeGap(16))) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      long user = c.createScope(root, "user", c.all());
      long orgScope = c.createScope(root, "org", c.all());
      long demo = c.createScope(svc, "svc@demo", c.all());
      long[] scopes = {root, svc, user, orgScope, demo};
      assertThat(c.node(0).registry().size()).isEqualTo(5);

      // Binds through different nodes are committed and visible on every anchor.
      Map<Long, Map<String, Uid>> acked = new LinkedHashMap<>();
      acked.put(svc, bind(c, 0, svc, "svc@api", 10));
      acked.put(user, bind(c, 1, user, "user@liz", 10));
      acked.put(orgScope, bind(c, 2, orgScope, "org@wiki", 10));
      acked.put(demo, bind(c, 1, demo, "svc@demo", 10));
      acked.put(root, bind(c, 2, root, "misc@x", 5));
      for (var e : acked.entrySet()) {
        for (int n = 0; n < 3; n++) {
          int node = n;
          TestCluster.await(
              "binds on " + TestCluster.id(n),
              WAIT,
              () -> holds(c, node, e.getKey(), e.getValue()));
        }
      }

      // The leader of svc stops: a new one is elected and nothing acknowledged is lost (a leader
      // killed with binds in flight: LeaderKillIT).
      int leader = leaderOf(c, svc);
      c.stop(leader);
      int other = (leader + 1) % 3;
      Map<String, Uid> more = bind(c, other, svc, "svc@after-failover", 10);
      acked.get(svc).putAll(more);
      assertThat(leaderOf(c, svc)).isNotEqualTo(leader);
      for (int n = 0; n < 3; n++) {
        if (n != leader) {
          int node = n;
          TestCluster.await(
              "svc intact on " + TestCluster.id(n),
              WAIT,
              () -> holds(c, node, svc, acked.get(svc)));
        }
      }

      // Restarted from its data dir, the old leader catches up.
      c.start(leader);
      TestCluster.await(
          "restarted node catches up", WAIT, () -> holds(c, leader, svc, acked.get(svc)));
      for (long s : scopes) {
        awaitConverged(c, s, 0, 1, 2);
      }

      // Snapshot, log purge, and a node that missed the purged entries: it installs the snapshot.
      int lagging = 2;
      awaitConverged(c, user, 0, 1, 2);
      long laggingNeeds = c.node(lagging).groups().division(user).getRaftLog().getNextIndex();
      assertThat(java.util.Objects.requireNonNull(c.node(lagging).scope(user)).snapshotsInstalled())
          .isZero();
      c.stop(lagging);
      Map<String, Uid> whileDown = bind(c, 0, user, "user@while-down", 300);
      acked.get(user).putAll(whileDown);
      for (int n : new int[] {0, 1}) {
        c.admin(n).snapshot(SnapshotRequest.newBuilder().setScopeId(user).build());
      }
      Map<String, Uid> afterSnap = bind(c, 1, user, "user@after-snapshot", 300);
      acked.get(user).putAll(afterSnap);
      for (int n : new int[] {0, 1}) {
        c.admin(n).snapshot(SnapshotRequest.newBuilder().setScopeId(user).build());
      }
      // Both remaining anchors dropped the entries the stopped one would need next.
      for (int n : new int[] {0, 1}) {
        var log = c.node(n).groups().division(user).getRaftLog();
        TestCluster.await(
            "log of " + TestCluster.id(n) + " purged past index " + laggingNeeds,
            WAIT,
            () -> log.getStartIndex() > laggingNeeds);
      }
      c.start(lagging);
      TestCluster.await(
          "lagging node catches up",
          Duration.ofSeconds(60),
          () -> holds(c, lagging, user, acked.get(user)));
      // It could only have caught up by installing a snapshot from the leader.
      assertThat(java.util.Objects.requireNonNull(c.node(lagging).scope(user)).snapshotsInstalled())
          .isPositive();
      assertThat(c.status(lagging, user).getSnapshotIndex()).isGreaterThan(laggingNeeds);
      awaitConverged(c, user, 0, 1, 2);

      // Restart everything: every replica of every scope has the same digest and head.
      for (int n = 0; n < 3; n++) {
        c.stop(n);
      }
      for (int n = 0; n < 3; n++) {
        c.start(n);
      }
      for (long s : scopes) {
        awaitConverged(c, s, 0, 1, 2);
      }
      for (var e : acked.entrySet()) {
        for (int n = 0; n < 3; n++) {
          int node = n;
          TestCluster.await(
              "binds survive restart", WAIT, () -> holds(c, node, e.getKey(), e.getValue()));
        }
      }
      // The lineage verifies: one entry per acknowledged bind, hash-linked.
      var chain =
          c.anchors(0)
              .getLineage(GetLineageRequest.newBuilder().setScopeId(user).setLimit(10_000).build())
              .getEntriesList();
      var report = ChainVerifier.verify(chain, new ChainVerifier.Options().replay(true));
      assertThat(report.ok()).as(report.toString()).isTrue();
      assertThat(chain).hasSize(1 + acked.get(user).size());
    }
  }
}
