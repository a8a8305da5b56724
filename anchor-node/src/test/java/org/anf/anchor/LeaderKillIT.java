package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.anf.anchor.testing.AnchorProcesses;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupBatchRequest;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Three anchors as separate processes; clients bind concurrently; the scope's leader is killed with
 * SIGKILL while binds are in flight, binding goes on, the killed node restarts from its data
 * directory. Every bind that was acknowledged is then on every anchor with the UID it was
 * acknowledged with, and every anchor has the same state digest.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class LeaderKillIT {
  static final Duration WAIT = Duration.ofSeconds(90);
  static final int CLIENTS = 4;
  static final int BEFORE_KILL = 60;
  static final int AFTER_KILL = 60;
  static final int AFTER_RESTART = 30;

  AnchorProcesses p;

  @BeforeAll
  void setUp() throws Exception {
    p = new AnchorProcesses(3);
    for (int i = 0; i < 3; i++) {
      p.start(i);
    }
  }

  @AfterAll
  void tearDown() throws Exception {
    p.close();
  }

  /** What must be equal on every anchor; digests compared as bytes. */
  record Replica(ByteString digest, ByteString head, long seq) {}

  /** The UID a bind was acknowledged with (a retried bind answers with its first entry). */
  static Uid uidOf(SubmitResponse r) {
    if (r.hasUid()) {
      return Uid.fromProto(r.getUid());
    }
    for (EffectItem i : r.getEntry().getEffect().getItemsList()) {
      if (i.hasUid()) {
        return Uid.fromProto(i.getUid());
      }
    }
    throw new AssertionError("no UID in " + r);
  }

  @Test
  void killingTheLeaderMidStreamLosesNoAcknowledgedBind() throws Exception {
    long seed = Long.getLong("anf.seed", 20261125L);
    System.out.println("LeaderKillIT seed " + seed + " (-Danf.seed=N to repeat)");
    for (int i = 0; i < 3; i++) {
      p.awaitServing(i, WAIT);
    }
    MutationFactory setup = new MutationFactory(new Random(seed), System::currentTimeMillis);
    var admin = TestKeys.key("admin");
    var rootReq = TestCluster.rootRequest(setup, admin, p.anchorMap(0, 1, 2));
    p.admin(0).createScope(rootReq);
    long root = Transitions.parse(rootReq.getGenesis()).getScopeId();
    long svc =
        p.admin(1)
            .createScope(TestCluster.childRequest(setup, admin, root, "svc", p.anchorMap(0, 1, 2)))
            .getScope()
            .getScopeId();

    Map<String, Uid> acked = new ConcurrentHashMap<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger retries = new AtomicInteger();
    AtomicReference<Throwable> failure = new AtomicReference<>();
    List<Thread> clients = new ArrayList<>();
    for (int t = 0; t < CLIENTS; t++) {
      int client = t;
      MutationFactory f =
          new MutationFactory(new Random(seed * 31 + client), System::currentTimeMillis);
      Thread th =
          new Thread(
              () -> {
                try {
                  for (int n = 0; !stop.get(); n++) {
                    String alias = "svc@c" + client + "/n" + n;
                    SignedMutation m =
                        Signing.sign(
                            f.bind(
                                svc,
                                Alias.parse(alias),
                                ObjectRecord.newBuilder()
                                    .addEndpoints(
                                        Endpoint.newBuilder().setHost("10.0.0.1").setPort(n + 1))
                                    .build()),
                            admin);
                    acked.put(alias, submitUntilAcked(m, client + n, retries));
                  }
                } catch (Throwable e) {
                  failure.compareAndSet(null, e);
                }
              },
              "bind-client-" + t);
      th.setDaemon(true);
      clients.add(th);
      th.start();
    }
    try {
      awaitAcked(acked, failure, BEFORE_KILL);
      int leader = p.leaderOf(svc);
      int beforeKill = acked.size();
      p.kill(leader);
      System.out.println(
          "killed leader " + TestCluster.id(leader) + " after " + beforeKill + " acked binds");
      awaitAcked(acked, failure, beforeKill + AFTER_KILL);
      assertThat(p.leaderOf(svc)).isNotEqualTo(leader);
      p.start(leader);
      p.awaitServing(leader, WAIT);
      awaitAcked(acked, failure, acked.size() + AFTER_RESTART);
    } finally {
      stop.set(true);
      for (Thread th : clients) {
        th.join(60_000);
      }
    }
    assertThat(failure.get()).isNull();
    System.out.println(acked.size() + " binds acknowledged, " + retries.get() + " retries");

    // Every acknowledged bind is on every anchor, with the UID it was acknowledged with.
    List<Map.Entry<String, Uid>> all = new ArrayList<>(acked.entrySet());
    for (int n = 0; n < 3; n++) {
      int node = n;
      TestCluster.await(
          "every acked bind on " + TestCluster.id(n),
          WAIT,
          () -> missing(node, svc, all).isEmpty());
    }
    // And the replicas converge: same digest (as bytes), same lineage head.
    TestCluster.await(
        "digests converge",
        WAIT,
        () -> {
          Set<Replica> replicas = new HashSet<>();
          for (int n = 0; n < 3; n++) {
            ScopeStatus s = p.status(n, svc);
            replicas.add(new Replica(s.getStateDigest(), s.getLineageHead(), s.getLineageSeq()));
          }
          return replicas.size() == 1;
        });
    // Nothing but the acknowledged binds (and those whose ack was lost) was applied.
    assertThat(p.status(0, svc).getLineageSeq()).isGreaterThanOrEqualTo(1 + acked.size());
  }

  /**
   * Submits to one anchor after another until one acknowledges it: the same signed mutation, so a
   * bind that committed before its reply was lost comes back as a duplicate with its first UID.
   */
  private Uid submitUntilAcked(SignedMutation m, int start, AtomicInteger retries)
      throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    StatusRuntimeException last = null;
    for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
      int node = (start + attempt) % 3;
      try {
        return uidOf(p.mutations(node).submit(SubmitRequest.newBuilder().setMutation(m).build()));
      } catch (StatusRuntimeException e) {
        switch (e.getStatus().getCode()) {
          case UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED, UNKNOWN, INTERNAL -> {
            last = e;
            retries.incrementAndGet();
            Thread.sleep(Math.min(500, 20L * (attempt + 1)));
          }
          default -> throw new AssertionError("bind refused: " + e.getStatus(), e);
        }
      }
    }
    throw new AssertionError("no anchor acknowledged a bind within " + WAIT, last);
  }

  private static void awaitAcked(
      Map<String, Uid> acked, AtomicReference<Throwable> failure, int atLeast) {
    TestCluster.await(
        atLeast + " acknowledged binds",
        WAIT,
        () -> {
          Throwable f = failure.get();
          if (f != null) {
            throw new AssertionError("a client failed", f);
          }
          return acked.size() >= atLeast;
        });
  }

  /** The acknowledged binds node {@code n}'s own state lacks (or holds with another UID). */
  private List<String> missing(int n, long scope, List<Map.Entry<String, Uid>> binds) {
    List<String> out = new ArrayList<>();
    for (int from = 0; from < binds.size(); from += 500) {
      List<Map.Entry<String, Uid>> chunk = binds.subList(from, Math.min(binds.size(), from + 500));
      LookupBatchRequest.Builder b = LookupBatchRequest.newBuilder();
      for (var e : chunk) {
        b.addRequests(
            LookupRequest.newBuilder()
                .setScopeId(scope)
                .setAlias(Alias.parse(e.getKey()).toProto())
                .setConsistency(Consistency.CONSISTENCY_ANY));
      }
      List<LookupResult> rs = p.anchors(n).lookupBatch(b.build()).getResultsList();
      for (int i = 0; i < chunk.size(); i++) {
        LookupResult r = rs.get(i);
        if (r.getStatus() != LookupStatus.LOOKUP_STATUS_EXACT
            || !Uid.fromProto(r.getUid()).equals(chunk.get(i).getValue())) {
          out.add(chunk.get(i).getKey());
        }
      }
    }
    return out;
  }
}
