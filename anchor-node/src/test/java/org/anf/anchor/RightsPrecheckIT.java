package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The leader checks the signer's right in startTransaction when its state is current: a key without
 * the right is refused before the log (no entry, no fsync, on any replica), while a grant ahead of
 * it in the same batch, or in an entry not applied yet, lets it through to apply.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RightsPrecheckIT {
  static final Duration WAIT = Duration.ofSeconds(30);
  TestCluster c;
  long svc;

  @BeforeAll
  void setUp() throws Exception {
    c = new TestCluster(3);
    long root = c.createRoot(c.all());
    svc = c.createScope(root, "svc", c.all());
    c.submit(0, c.factory.bind(svc, Alias.parse("svc@first"), ObjectRecord.getDefaultInstance()));
    AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
  }

  @AfterAll
  void tearDown() throws Exception {
    c.close();
  }

  private long lastLogIndex(int node) {
    return c.node(node).groups().division(svc).getRaftLog().getLastEntryTermIndex().getIndex();
  }

  private long term(int node) {
    return c.node(node).groups().division(svc).getInfo().getCurrentTerm();
  }

  @Test
  void keyWithoutTheRightIsRefusedBeforeTheLog() {
    KeyPair stranger = TestKeys.key("stranger");
    // A leader change in between appends an entry of its own: then measure again.
    for (int attempt = 1; ; attempt++) {
      // Measured once every replica has applied the same head (another test may have just bound).
      AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
      long seqBefore = c.status(0, svc).getLineageSeq();
      TestCluster.await(
          "a ready leader that applied everything",
          WAIT,
          () -> {
            int l = AnchorClusterIT.leaderOf(c, svc);
            var d = c.node(l).groups().division(svc);
            return d.getInfo().isLeaderReady()
                && d.getInfo().getLastAppliedIndex() >= d.getRaftLog().getLastCommittedIndex();
          });
      long[] before = new long[3];
      long[] terms = new long[3];
      for (int n = 0; n < 3; n++) {
        before[n] = lastLogIndex(n);
        terms[n] = term(n);
      }
      int leader = AnchorClusterIT.leaderOf(c, svc);
      for (int n : new int[] {leader, (leader + 1) % 3}) {
        SignedMutation m =
            Signing.sign(
                c.factory.bind(
                    svc, Alias.parse("svc@intruder" + attempt), ObjectRecord.getDefaultInstance()),
                stranger);
        assertThatThrownBy(
                () -> c.mutations(n).submit(SubmitRequest.newBuilder().setMutation(m).build()))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.PERMISSION_DENIED);
                  assertThat(e.getStatus().getDescription())
                      .contains("does not hold BIND in scope 'svc'");
                });
      }
      boolean stable = true;
      for (int n = 0; n < 3; n++) {
        stable &= term(n) == terms[n];
      }
      if (!stable && attempt < 3) {
        continue;
      }
      assertThat(stable).as("no leader change during the attempt").isTrue();
      for (int n = 0; n < 3; n++) {
        assertThat(lastLogIndex(n)).as("Raft log of " + TestCluster.id(n)).isEqualTo(before[n]);
        assertThat(c.status(n, svc).getLineageSeq()).isEqualTo(seqBefore);
      }
      return;
    }
  }

  /** A policy granting {@code rights} to {@code key}, on top of the scope's current one. */
  private Policy granting(KeyPair key, Right... rights) {
    Policy current = c.status(0, svc).getPolicy();
    return current.toBuilder()
        .addGrants(
            KeyGrant.newBuilder()
                .setPublicKey(ByteString.copyFrom(key.publicKey()))
                .addAllRights(List.of(rights)))
        .build();
  }

  private List<MutationReply> batch(int node, List<SignedMutation> ms) throws Exception {
    return c.node(node).groups().submitBatch(svc, ms).get(30, TimeUnit.SECONDS);
  }

  @Test
  void aGrantEarlierInTheBatchLetsTheBindThrough() throws Exception {
    KeyPair k = TestKeys.key("granted-in-batch");
    KeyPair nobody = TestKeys.key("nobody");
    int leader = AnchorClusterIT.leaderOf(c, svc);
    List<MutationReply> r =
        batch(
            leader,
            List.of(
                Signing.sign(
                    c.factory.bind(
                        svc, Alias.parse("svc@too-early"), ObjectRecord.getDefaultInstance()),
                    k),
                c.sign(c.factory.setPolicy(svc, granting(k, Right.RIGHT_BIND))),
                Signing.sign(
                    c.factory.bind(
                        svc, Alias.parse("svc@granted"), ObjectRecord.getDefaultInstance()),
                    k),
                Signing.sign(
                    c.factory.bind(
                        svc, Alias.parse("svc@nobody"), ObjectRecord.getDefaultInstance()),
                    nobody)));
    assertThat(r).hasSize(4);
    // Before the grant: refused (at the leader or at apply, the same refusal).
    assertThat(r.get(0).getRefused().getCode()).isEqualTo("NOT_AUTHORIZED");
    assertThat(r.get(1).hasApplied()).as(r.get(1).toString()).isTrue();
    assertThat(r.get(2).hasApplied()).as(r.get(2).toString()).isTrue();
    // After the grant the check waits for apply, which refuses a key that still has no right.
    assertThat(r.get(3).getRefused().getCode()).isEqualTo("NOT_AUTHORIZED");
    assertThat(r.get(3).getRefused().getMessage()).contains("does not hold BIND");
  }

  @Test
  void aGrantLoggedButNotAppliedLetsTheBindThrough() throws Exception {
    KeyPair k = TestKeys.key("granted-in-flight");
    int leader = AnchorClusterIT.leaderOf(c, svc);
    var groups = c.node(leader).groups();
    // Pipelined: the bind reaches startTransaction while the grant may still be unapplied.
    CompletableFuture<List<MutationReply>> grant =
        groups.submitBatch(
            svc, List.of(c.sign(c.factory.setPolicy(svc, granting(k, Right.RIGHT_BIND)))));
    CompletableFuture<List<MutationReply>> bind =
        groups.submitBatch(
            svc,
            List.of(
                Signing.sign(
                    c.factory.bind(
                        svc, Alias.parse("svc@in-flight"), ObjectRecord.getDefaultInstance()),
                    k)));
    assertThat(grant.get(30, TimeUnit.SECONDS).get(0).hasApplied()).isTrue();
    MutationReply b = bind.get(30, TimeUnit.SECONDS).get(0);
    assertThat(b.hasApplied()).as(b.toString()).isTrue();
    AnchorClusterIT.awaitConverged(c, svc, 0, 1, 2);
  }

  @Test
  void ownersPassAndPoliciesStayValid() {
    // The check's policy is the scope's: the owner key binds as before.
    assertThat(
            Policies.hasRight(c.status(1, svc).getPolicy(), c.admin.publicKey(), Right.RIGHT_BIND))
        .isTrue();
    var r =
        c.submit(
            1, c.factory.bind(svc, Alias.parse("svc@owner"), ObjectRecord.getDefaultInstance()));
    assertThat(r.hasEntry()).isTrue();
  }
}
