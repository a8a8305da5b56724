package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SubmitRequest;
import org.junit.jupiter.api.Test;

/**
 * A write the leader's group holds without an answer is answered UNAVAILABLE once the write timeout
 * passes, and the scope's writes through that anchor go on: the leader's batcher sends one log
 * entry at a time, so a batch left unanswered would otherwise hold back every later write.
 */
class WriteTimeoutIT {
  @Test
  void aWriteWithNoAnswerFromTheGroupIsAnsweredAndLaterWritesGoThrough() throws Exception {
    ConsistencyIT.ApplyGate gate = new ConsistencyIT.ApplyGate();
    try (TestCluster c =
        new TestCluster(
            3, TestCluster.Options.DEFAULT, i -> AnchorNode.Hooks.applies(gate.hookFor(i)))) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      int leader = AnchorClusterIT.leaderOf(c, svc);

      // The leader commits the entry but cannot apply it, so Raft never answers the write.
      gate.close(leader, svc);
      try {
        var held =
            c.sign(c.factory.bind(svc, Alias.parse("svc@held"), ObjectRecord.getDefaultInstance()));
        assertThatThrownBy(
                () ->
                    c.mutations(leader)
                        .submit(SubmitRequest.newBuilder().setMutation(held).build()))
            .isInstanceOfSatisfying(
                StatusRuntimeException.class,
                e -> {
                  assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
                  assertThat(e.getStatus().getDescription())
                      .contains("no answer from the group in 10000 ms")
                      .contains("may still commit");
                });
      } finally {
        gate.release();
      }

      // The held write did commit, and the next write through the same anchor is answered.
      TestCluster.await(
          "the held bind is applied",
          ConsistencyIT.WAIT,
          () ->
              c.anchors(leader)
                      .lookup(
                          ConsistencyIT.lookup(
                              svc, "svc@held", Consistency.CONSISTENCY_LINEARIZABLE, 0))
                      .getStatus()
                  == LookupStatus.LOOKUP_STATUS_EXACT);
      var next =
          c.submit(
              leader,
              c.factory.bind(svc, Alias.parse("svc@next"), ObjectRecord.getDefaultInstance()));
      assertThat(next.hasEntry()).isTrue();
      assertThat(next.getDuplicate()).isFalse();
    }
  }
}
