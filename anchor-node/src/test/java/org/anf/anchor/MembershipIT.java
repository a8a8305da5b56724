package org.anf.anchor;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import org.anf.anchor.testing.TestCluster;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.MembershipRequest;
import org.anf.proto.v1.MembershipResponse;
import org.anf.proto.v1.ScopeStatus;
import org.junit.jupiter.api.Test;

/**
 * Elastic membership (the FIG. 3A example): a scope on four anchors has two removed by recorded
 * governance transitions; the remaining two form a 2-of-2 group that keeps committing, and no
 * binding changes.
 */
class MembershipIT {
  @Test
  void removingTwoOfFourAnchorsLeavesAWorkingTwoOfTwoGroup() throws Exception {
    try (TestCluster c = new TestCluster(4)) {
      long root = c.createRoot(0, 1, 2);
      long wiki = c.createScope(root, "wiki", 0, 1, 2, 3);
      Map<String, Uid> before = AnchorClusterIT.bind(c, 0, wiki, "wiki@articles", 20);
      ScopeStatus s0 = c.status(0, wiki);
      assertThat(s0.getAnchors().getAnchorsCount()).isEqualTo(4);

      for (String gone : new String[] {"a2", "a3"}) {
        MembershipResponse r =
            c.admin(0)
                .removeAnchor(
                    MembershipRequest.newBuilder()
                        .setMutation(c.sign(c.factory.removeAnchor(wiki, gone)))
                        .build());
        assertThat(r.getEntry().getEffect().getItems(0).getKind())
            .isEqualTo(EffectKind.EFFECT_KIND_ANCHOR_REMOVED);
      }
      TestCluster.await(
          "the group is a1 and a4",
          Duration.ofSeconds(20),
          () -> c.node(0).groups().division(wiki).getGroup().getPeers().size() == 2);

      // Writes still commit on the remaining two.
      Map<String, Uid> after = AnchorClusterIT.bind(c, 3, wiki, "wiki@after", 10);
      assertThat(after).hasSize(10);
      // No binding changed, on either remaining anchor.
      for (int n : new int[] {0, 3}) {
        int node = n;
        TestCluster.await(
            "data intact on " + TestCluster.id(n),
            Duration.ofSeconds(20),
            () ->
                AnchorClusterIT.holds(c, node, wiki, before)
                    && AnchorClusterIT.holds(c, node, wiki, after));
      }
      AnchorClusterIT.awaitConverged(c, wiki, 0, 3);
      ScopeStatus s = c.status(3, wiki);
      assertThat(s.getAnchors().getAnchorsList())
          .extracting(a -> a.getId())
          .containsExactly("a1", "a4");
      assertThat(c.node(1).groups().hosts(wiki)).isFalse();
      assertThat(c.node(2).groups().hosts(wiki)).isFalse();

      // Both transitions are in lineage, the last one naming the new quorum.
      var removals =
          c
              .anchors(0)
              .getLineage(GetLineageRequest.newBuilder().setScopeId(wiki).build())
              .getEntriesList()
              .stream()
              .map(LineageEntry::getEffect)
              .flatMap(e -> e.getItemsList().stream())
              .filter(i -> i.getKind() == EffectKind.EFFECT_KIND_ANCHOR_REMOVED)
              .map(EffectItem::getDetail)
              .toList();
      assertThat(removals).hasSize(2);
      assertThat(removals.get(0)).startsWith("anchor a2; quorum 2-of-3 (a1, a3, a4)");
      assertThat(removals.get(1)).startsWith("anchor a3; quorum 2-of-2 (a1, a4)");
    }
  }
}
