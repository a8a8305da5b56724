package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.anf.anchor.config.AnchorConfig;
import org.anf.anchor.group.ScopeGroups;
import org.anf.anchor.testing.TestCluster;
import org.anf.anchor.tls.Certificates;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.MembershipRequest;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.retry.RetryPolicies;
import org.junit.jupiter.api.Test;

/** Anchors authenticate one another: Raft runs over mutual TLS against the fabric's CA. */
class TlsIT {
  @Test
  void anchorsTalkOverMutualTlsAndStrangersAreShutOut() throws Exception {
    try (TestCluster c = new TestCluster(3, 0, 0, true)) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      Map<String, Uid> acked = AnchorClusterIT.bind(c, 0, svc, "svc@tls", 5);
      for (int n = 0; n < 3; n++) {
        int node = n;
        TestCluster.await(
            "binds on " + TestCluster.id(n),
            Duration.ofSeconds(20),
            () -> AnchorClusterIT.holds(c, node, svc, acked));
      }

      // A Ratis client without a certificate cannot reach the group.
      var group = c.node(0).groups().division(svc).getGroup();
      RaftProperties p = new RaftProperties();
      org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(
          p, org.apache.ratis.util.TimeDuration.valueOf(1, java.util.concurrent.TimeUnit.SECONDS));
      try (RaftClient plain =
          RaftClient.newBuilder()
              .setRaftGroup(group)
              .setProperties(p)
              .setRetryPolicy(RetryPolicies.noRetry())
              .build()) {
        assertThatThrownBy(
                () ->
                    plain
                        .getGroupManagementApi(group.getPeers().iterator().next().getId())
                        .info(group.getGroupId()))
            .satisfies(e -> assertThat(String.valueOf(e.getMessage())).contains("UNAVAILABLE"));
      }

      // A node whose certificate comes from another CA cannot join the group.
      Path foreignDir = c.dir.resolve("foreign");
      AnchorConfig.Tls foreign =
          Certificates.newAuthority("someone else")
              .issue("a9", List.of("127.0.0.1"), foreignDir.resolve("tls"));
      String yaml =
          "node_id: a9\ndata_dir: "
              + foreignDir.resolve("data")
              + "\nlisten: 127.0.0.1:0\nraft_listen: 127.0.0.1:0\n"
              + "metrics_port: -1\ntls:\n  cert: "
              + foreign.cert()
              + "\n  key: "
              + foreign.key()
              + "\n  ca: "
              + foreign.ca()
              + "\n";
      try (AnchorNode stranger = AnchorNode.start(AnchorConfig.parse(yaml, c.dir, "a9.yaml"))) {
        assertThatThrownBy(
                () ->
                    c.admin(0)
                        .withDeadlineAfter(40, java.util.concurrent.TimeUnit.SECONDS)
                        .addAnchor(
                            MembershipRequest.newBuilder()
                                .setMutation(
                                    c.sign(c.factory.addAnchor(svc, stranger.anchorInfo())))
                                .build()))
            .isInstanceOf(StatusRuntimeException.class);
        assertThat(stranger.groups().hosts(svc)).isFalse();
      }
      // The group still has its three anchors and keeps committing.
      Map<String, Uid> more = AnchorClusterIT.bind(c, 1, svc, "svc@after", 3);
      assertThat(more).hasSize(3);
      assertThat(c.node(0).groups().division(svc).getGroup().getPeers()).hasSize(3);
      assertThat(ScopeGroups.scopeOf(group.getGroupId())).isEqualTo(svc);
    }
  }
}
