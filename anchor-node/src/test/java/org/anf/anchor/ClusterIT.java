package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SubmitResponse;
import org.junit.jupiter.api.Test;

class ClusterIT {
  static ObjectRecord rec(int port) {
    return ObjectRecord.newBuilder()
        .addEndpoints(Endpoint.newBuilder().setHost("127.0.0.1").setPort(port))
        .build();
  }

  @Test
  void bindIsVisibleOnEveryAnchor() throws Exception {
    try (TestCluster c = new TestCluster(3)) {
      long root = c.createRoot(c.all());
      long svc = c.createScope(root, "svc", c.all());
      SubmitResponse r = c.submit(1, c.factory.bind(svc, Alias.parse("svc@demo/hello"), rec(8080)));
      Uid uid = Uid.fromProto(r.getUid());
      assertThat(uid.scopeId()).isEqualTo(svc);
      for (int i = 0; i < 3; i++) {
        int node = i;
        TestCluster.await(
            "bind visible on " + TestCluster.id(node),
            Duration.ofSeconds(10),
            () -> {
              LookupResult l =
                  c.anchors(node)
                      .lookup(
                          LookupRequest.newBuilder()
                              .setScopeId(svc)
                              .setAlias(Alias.parse("svc@demo/hello").toProto())
                              .build());
              return l.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                  && Uid.fromProto(l.getUid()).equals(uid);
            });
      }
    }
  }
}
