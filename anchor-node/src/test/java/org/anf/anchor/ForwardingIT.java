package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.junit.jupiter.api.Test;

/**
 * Writes that reach followers travel to the leader in shared batches. A batch carries many clients'
 * writes, so one client giving up (its call cancelled mid-flight) must not take the others down
 * with it: every write that was not cancelled commits, and every acknowledged one is on every
 * anchor with its UID.
 */
class ForwardingIT {
  static final int CLIENTS = 16;
  static final int WRITES_EACH = 25;

  @Test
  void concurrentWritesThroughFollowersSurviveOtherClientsCancelling() throws Exception {
    try (TestCluster c = new TestCluster(3)) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      for (int n = 0; n < 3; n++) {
        int node = n;
        TestCluster.await(
            "scope svc applied on " + TestCluster.id(node),
            Duration.ofSeconds(30),
            () -> {
              try {
                return c.status(node, svc).getLineageSeq() > 0;
              } catch (StatusRuntimeException e) {
                return false;
              }
            });
      }
      int leader = AnchorClusterIT.leaderOf(c, svc);
      int[] followers = {(leader + 1) % 3, (leader + 2) % 3};
      Map<String, Uid> acked = new ConcurrentHashMap<>();
      AtomicInteger cancelled = new AtomicInteger();
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + 1);
      try {
        List<Future<?>> clients = new ArrayList<>();
        for (int t = 0; t < CLIENTS; t++) {
          int client = t;
          clients.add(
              pool.submit(
                  () -> {
                    for (int i = 0; i < WRITES_EACH; i++) {
                      String alias = "svc@c" + client + "/w" + i;
                      SubmitResponse r =
                          c.submit(
                              followers[(client + i) % 2],
                              c.factory.bind(svc, Alias.parse(alias), ClusterIT.rec(client)));
                      acked.put(alias, Uid.fromProto(r.getUid()));
                    }
                    return null;
                  }));
        }
        // Meanwhile a client that gives up on each of its writes almost at once, so that batches
        // are sent and completed from inside calls that end early.
        Future<?> impatient =
            pool.submit(
                () -> {
                  for (int i = 0; i < 100; i++) {
                    SignedMutation m =
                        c.sign(
                            c.factory.bind(
                                svc, Alias.parse("svc@impatient/w" + i), ClusterIT.rec(1)));
                    try {
                      c.mutations(followers[i % 2])
                          .withDeadlineAfter(1 + i % 5, TimeUnit.MILLISECONDS)
                          .submit(SubmitRequest.newBuilder().setMutation(m).build());
                    } catch (StatusRuntimeException e) {
                      assertThat(e.getStatus().getCode())
                          .isIn(Status.Code.DEADLINE_EXCEEDED, Status.Code.CANCELLED);
                      cancelled.incrementAndGet();
                    }
                  }
                  return null;
                });
        for (Future<?> f : clients) {
          f.get(120, TimeUnit.SECONDS);
        }
        impatient.get(120, TimeUnit.SECONDS);
      } finally {
        pool.shutdownNow();
      }
      System.out.println(
          "acknowledged " + acked.size() + " writes; the impatient client gave up " + cancelled);
      assertThat(acked).hasSize(CLIENTS * WRITES_EACH);
      for (int n = 0; n < 3; n++) {
        int node = n;
        TestCluster.await(
            "every acknowledged write on " + TestCluster.id(node),
            Duration.ofSeconds(30),
            () ->
                acked.entrySet().stream()
                    .allMatch(
                        e -> {
                          LookupResult l =
                              c.anchors(node)
                                  .lookup(
                                      LookupRequest.newBuilder()
                                          .setScopeId(svc)
                                          .setAlias(Alias.parse(e.getKey()).toProto())
                                          .build());
                          return l.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                              && Uid.fromProto(l.getUid()).equals(e.getValue());
                        }));
      }
    }
  }
}
