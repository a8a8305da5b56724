package org.anf.anchor.structure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.cli.Walk;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.SubmitResponse;
import org.anf.proto.v1.TxnOutcome;
import org.junit.jupiter.api.Test;

/**
 * Issue 6, item 1, on a real three-anchor fabric: 1,000 aliases bound under a scope; the scope
 * split into four children; 100 renamed; 100 moved to another top-level scope; two children merged
 * back. Every original alias still resolves to its original UID, no UID changed, and every scope's
 * lineage verifies on every anchor with identical replicas.
 */
class StructureScenarioIT {
  static final int N = 1000;

  @Test
  void thousandAliasesSurviveSplitRenameMoveMerge() throws Exception {
    try (StructFabric f = new StructFabric(i -> AnchorNode.Hooks.NONE)) {
      long acme = f.createChild("user", "user@acme");
      Map<String, Uid> uids = new LinkedHashMap<>();
      List<Mutation> binds = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (int i = 0; i < N; i++) {
        String a = "user@acme/g" + (i % 4) + "/n" + i;
        names.add(a);
        binds.add(f.factory.bind(acme, Alias.parse(a), StructFabric.record("10.0.0." + i % 250)));
      }
      for (int from = 0; from < N; from += 250) {
        List<SubmitResponse> rs = f.submitAll(binds.subList(from, from + 250));
        for (int k = 0; k < rs.size(); k++) {
          uids.put(names.get(from + k), Uid.fromProto(rs.get(k).getUid()));
        }
      }
      assertEquals(N, new HashSet<>(uids.values()).size(), "UIDs are unique");

      StructureResponse split = f.split(0, f.splitRequest(acme, List.of("g0", "g1", "g2", "g3")));
      assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, split.getOutcome(), split.getReason());
      List<Long> children = split.getChildScopeIdsList();
      assertEquals(4, children.size());

      // 100 renames within the children, batched.
      List<Mutation> renames = new ArrayList<>();
      Map<String, String> renamed = new LinkedHashMap<>();
      for (int i = 0; i < 100; i++) {
        String from = names.get(i);
        String to = "user@acme/g" + (i % 4) + "/r" + i;
        renamed.put(from, to);
        renames.add(f.factory.rename(children.get(i % 4), Alias.parse(from), Alias.parse(to)));
      }
      f.submitAll(renames);

      // 100 moves, each its own cross-group transaction, to the top-level scope svc.
      long svc = f.scope("svc");
      Map<String, String> moved = new LinkedHashMap<>();
      for (int i = 100; i < 200; i++) {
        String to = "svc@m" + i;
        StructureResponse r =
            f.move(i % 3, f.moveRequest(children.get(i % 4), names.get(i), svc, to));
        assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, r.getOutcome(), r.getReason());
        moved.put(names.get(i), to);
      }

      for (int c = 0; c < 2; c++) {
        StructureResponse r = f.merge(0, f.mergeRequest(children.get(c)));
        assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, r.getOutcome(), r.getReason());
      }
      f.awaitSettled(Duration.ofSeconds(60));

      Walk walk = f.walk();
      Set<Uid> seen = new HashSet<>();
      for (String name : names) {
        LookupResult r = walk.resolve(Alias.parse(name)).answer();
        Uid want = uids.get(name);
        assertTrue(
            r.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
                || r.getStatus() == LookupStatus.LOOKUP_STATUS_REDIRECTED,
            name + " resolves: " + r.getStatus() + " " + r.getDetail());
        assertEquals(want, Uid.fromProto(r.getUid()), name + " keeps its UID");
        String now = renamed.getOrDefault(name, moved.getOrDefault(name, name));
        assertEquals(now, r.getCanonicalAlias().getText(), name + " is now at " + now);
        seen.add(want);
      }
      assertEquals(N, seen.size());
      // The merged children are gone as groups; their ids stay in the parent's lineage.
      for (int c = 0; c < 2; c++) {
        long child = children.get(c);
        assertTrue(
            f.lineage(f.address(0), acme).stream()
                .anyMatch(
                    e ->
                        e.getEffect().getItemsList().stream()
                            .anyMatch(
                                i ->
                                    i.getDetail()
                                            .contains(org.anf.lineage.state.ScopeIds.text(child))
                                        && i.getKind()
                                            == org.anf.proto.v1.EffectKind.EFFECT_KIND_MERGED_IN)),
            "the parent's lineage records merging child " + Long.toHexString(child));
      }
      f.verifyEveryScopeOnEveryAnchor();
    }
  }
}
