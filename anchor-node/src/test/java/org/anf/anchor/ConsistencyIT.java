package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.junit.jupiter.api.Test;

/**
 * Freshness is what an anchor can show: BOUNDED answers from local state only when the anchor has
 * heard from its leader and applied what that leader had committed, within the bound; ANY always
 * answers, marked stale with an honest age otherwise. Two ways to fall behind: a follower in touch
 * with its leader whose apply is held back, and a follower whose leader and peer are gone.
 */
class ConsistencyIT {
  static final Duration WAIT = Duration.ofSeconds(30);
  static final int BOUND_MS = 300;

  /** Holds back applies of one scope on one node until released (fault injection). */
  static final class ApplyGate {
    private volatile int node = -1;
    private volatile long scope;
    private volatile CountDownLatch open = new CountDownLatch(0);

    ScopeRegistry.ApplyHook hookFor(int n) {
      return (s, index) -> {
        if (n == node && s == scope) {
          try {
            // Bounded, so a failing test cannot wedge the node's shutdown.
            open.await(60, TimeUnit.SECONDS);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      };
    }

    void close(int n, long s) {
      open = new CountDownLatch(1);
      scope = s;
      node = n;
    }

    void release() {
      node = -1;
      open.countDown();
    }
  }

  static LookupRequest lookup(long scope, String alias, Consistency consistency, int boundMs) {
    return LookupRequest.newBuilder()
        .setScopeId(scope)
        .setAlias(Alias.parse(alias).toProto())
        .setConsistency(consistency)
        .setMaxStalenessMs(boundMs)
        .build();
  }

  @Test
  void aFollowerInTouchButBehindInApplyingIsNotFresh() throws Exception {
    ApplyGate gate = new ApplyGate();
    try (TestCluster c =
        new TestCluster(
            3, TestCluster.Options.DEFAULT, i -> AnchorNode.Hooks.applies(gate.hookFor(i)))) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      c.submit(
          0, c.factory.bind(svc, Alias.parse("svc@before"), ObjectRecord.getDefaultInstance()));
      AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
      int leader = AnchorClusterIT.leaderOf(c, svc);
      int f = (leader + 1) % 3;

      // Fresh while caught up.
      TestCluster.await(
          "follower answers fresh",
          WAIT,
          () ->
              !c.anchors(f)
                  .lookup(lookup(svc, "svc@before", Consistency.CONSISTENCY_BOUNDED, BOUND_MS))
                  .getFreshness()
                  .getStale());

      gate.close(f, svc);
      try {
        var r =
            c.submit(
                leader,
                c.factory.bind(svc, Alias.parse("svc@during"), ObjectRecord.getDefaultInstance()));
        assertThat(r.hasEntry()).isTrue();
        long committedAt = c.node(leader).groups().division(svc).getInfo().getLastAppliedIndex();
        var fd = c.node(f).groups().division(svc);
        // The follower hears of the commit but cannot apply it.
        TestCluster.await(
            "follower learns the commit",
            WAIT,
            () -> fd.getRaftLog().getLastCommittedIndex() >= committedAt);
        assertThat(Objects.requireNonNull(c.node(f).scope(svc)).appliedIndex())
            .isLessThan(committedAt);
        assertThat(fd.getInfo().getLeaderId()).isNotNull();

        // ANY answers from local state, marked stale once the lag exceeds the bound.
        LookupResult[] any = new LookupResult[1];
        TestCluster.await(
            "ANY marked stale",
            WAIT,
            () -> {
              any[0] =
                  c.anchors(f)
                      .lookup(lookup(svc, "svc@during", Consistency.CONSISTENCY_ANY, BOUND_MS));
              return any[0].getFreshness().getStale();
            });
        assertThat(any[0].getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_NOT_FOUND);
        assertThat(any[0].getFreshness().getAgeMs()).isGreaterThan(BOUND_MS);
        assertThat(any[0].getAnchorId()).isEqualTo(TestCluster.id(f));

        // BOUNDED cannot be answered locally, and the read index waits on the held-back apply.
        assertThatThrownBy(
                () ->
                    c.anchors(f)
                        .lookup(
                            lookup(svc, "svc@during", Consistency.CONSISTENCY_BOUNDED, BOUND_MS)))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                  assertThat(e.getStatus().getDescription())
                      .contains("cannot answer within " + BOUND_MS + " ms")
                      .contains("still applying")
                      .contains("ask with consistency ANY");
                });
      } finally {
        gate.release();
      }

      // Once it has applied, the same BOUNDED read is fresh and sees the bind.
      TestCluster.await(
          "follower fresh again",
          WAIT,
          () -> {
            LookupResult r =
                c.anchors(f)
                    .lookup(lookup(svc, "svc@during", Consistency.CONSISTENCY_BOUNDED, BOUND_MS));
            return r.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                && !r.getFreshness().getStale();
          });
    }
  }

  @Test
  void aFollowerCutOffFromItsLeaderAnswersAnyAsStaleAndRefusesBounded() throws Exception {
    try (TestCluster c = new TestCluster(3)) {
      long svc = scopeWithKeptBinding(c);
      int leader = AnchorClusterIT.leaderOf(c, svc);
      int f = (leader + 1) % 3;
      c.stop(leader);
      c.stop((leader + 2) % 3);

      LookupResult[] any = new LookupResult[1];
      TestCluster.await(
          "ANY marked stale on the isolated follower",
          WAIT,
          () -> {
            any[0] =
                c.anchors(f).lookup(lookup(svc, "svc@kept", Consistency.CONSISTENCY_ANY, BOUND_MS));
            return any[0].getFreshness().getStale();
          });
      // Its own state still answers, with how long it has been out of touch, and that age grows.
      // No lower bound from the cut: seen twice on a slow VM, a reported age of 48 ms ~200 ms after
      // both stops. Likely f led briefly in between: a leader counted itself fresh until it
      // stepped down for lack of a quorum. A leader now counts from its last quorum contact
      // (NodeContext.quorumContactMs), but that cause was not confirmed.
      assertThat(any[0].getStatus()).isEqualTo(LookupStatus.LOOKUP_STATUS_EXACT);
      assertThat(any[0].getFreshness().getAgeMs()).isPositive();
      long firstAge = any[0].getFreshness().getAgeMs();
      TestCluster.await(
          "the age grows",
          WAIT,
          () ->
              c.anchors(f)
                      .lookup(lookup(svc, "svc@kept", Consistency.CONSISTENCY_ANY, BOUND_MS))
                      .getFreshness()
                      .getAgeMs()
                  > firstAge);

      assertThatThrownBy(
              () ->
                  c.anchors(f)
                      .lookup(lookup(svc, "svc@kept", Consistency.CONSISTENCY_BOUNDED, BOUND_MS)))
          .isInstanceOfSatisfying(
              StatusRuntimeException.class,
              e -> {
                assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                assertThat(e.getStatus().getDescription())
                    .contains("cannot answer within " + BOUND_MS + " ms")
                    .contains("ask with consistency ANY");
              });
    }
  }

  /** Scope svc on all three anchors, holding svc@kept, applied everywhere. */
  private static long scopeWithKeptBinding(TestCluster c) throws Exception {
    long root = c.createRoot(c.all());
    long svc = c.createScope(root, "svc", c.all());
    c.submit(0, c.factory.bind(svc, Alias.parse("svc@kept"), ObjectRecord.getDefaultInstance()));
    AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
    return svc;
  }
}
