package org.anf.anchor.structure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.anf.anchor.AnchorNode;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.KeyGrant;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.OpenTransactionsRequest;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.Right;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.StructureRequest;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.TxnOutcome;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Issue 6 through gRPC {@code StructureService} on a real three-anchor fabric: who may split, merge
 * and move is set by the scope's policy, and a refusal changes nothing and leaves no lock; the
 * ENS-fuse rule holds end to end through the coordinator; and a chain of renames followed by a move
 * to another scope resolves, with {@code --trace}, in one lookup per scope walked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StructureServiceIT {
  private @Nullable StructFabric f;

  @BeforeAll
  void start() throws Exception {
    f = new StructFabric(i -> AnchorNode.Hooks.NONE);
  }

  @AfterAll
  void stop() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  private StructFabric f() {
    StructFabric s = f;
    if (s == null) {
      throw new IllegalStateException("no fabric");
    }
    return s;
  }

  private StructureRequest signed(Mutation m, KeyPair key) {
    return StructureRequest.newBuilder().setRequest(Signing.sign(m, key)).build();
  }

  /** Head and state digest of each scope on every anchor, and no transaction open anywhere. */
  private List<String> snapshot(long... scopes) {
    List<String> out = new ArrayList<>();
    for (long s : scopes) {
      for (ScopeStatus st : f().statuses(s)) {
        out.add(
            Long.toHexString(s)
                + "@"
                + st.getLineageSeq()
                + ":"
                + org.anf.lineage.kv.Bytes.hex(st.getStateDigest().toByteArray()));
      }
    }
    return out;
  }

  private void assertNoOpenTransactions() {
    for (int i = 0; i < 3; i++) {
      assertEquals(
          0,
          f().structure(i)
              .openTransactions(OpenTransactionsRequest.getDefaultInstance())
              .getTransactionsCount(),
          "open transactions on a" + (i + 1));
    }
  }

  /**
   * The call is refused (PERMISSION_DENIED or FAILED_PRECONDITION) with a message naming {@code
   * what}, and no scope concerned changed on any anchor.
   */
  private void assertRefusedUnchanged(
      String what, Supplier<StructureResponse> call, long... scopes) {
    List<String> before = snapshot(scopes);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::get, what);
    Status.Code code = e.getStatus().getCode();
    assertTrue(
        code == Status.Code.PERMISSION_DENIED || code == Status.Code.FAILED_PRECONDITION,
        what + ": " + e.getStatus());
    assertTrue(
        String.valueOf(e.getStatus().getDescription()).contains(what),
        "the reason names " + what + ": " + e.getStatus().getDescription());
    assertEquals(before, snapshot(scopes), "nothing changed on any anchor");
    assertNoOpenTransactions();
  }

  @Test
  void aKeyWithoutTheRightCannotSplitMergeOrMove() {
    KeyPair limited = Ed25519.generate(new SecureRandom());
    Policy policy =
        Policies.ownedBy(f().fabric.admin().publicKey()).toBuilder()
            .addGrants(
                KeyGrant.newBuilder()
                    .setPublicKey(com.google.protobuf.ByteString.copyFrom(limited.publicKey()))
                    .addRights(Right.RIGHT_BIND)
                    .addRights(Right.RIGHT_RENAME))
            .setParentMayReclaim(true)
            .build();
    long user = f().scope("user");
    long svc = f().scope("svc");
    long scope = f().createChild(user, "user@pol", policy, List.of(0, 1, 2));
    f().submitAll(
            List.of(
                f().factory.bind(scope, Alias.parse("user@pol/a/x"), StructFabric.record("h")),
                f().factory.bind(scope, Alias.parse("user@pol/b/y"), StructFabric.record("h"))));
    // A child split off by the owner, under the same policy (the limited key binds there too).
    StructureResponse split = f().split(1, f().splitRequest(scope, List.of("b"), policy));
    assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, split.getOutcome(), split.getReason());
    long child = split.getChildScopeIds(0);

    Mutation move = f().moveRequest(scope, "user@pol/a", svc, "svc@pol");
    assertRefusedUnchanged("MOVE", () -> f().structure(0).move(signed(move, limited)), scope, svc);
    Mutation splitA = f().splitRequest(scope, List.of("a"), policy);
    assertRefusedUnchanged("SPLIT", () -> f().structure(1).split(signed(splitA, limited)), scope);
    Mutation merge = f().mergeRequest(child);
    assertRefusedUnchanged(
        "MERGE", () -> f().structure(2).merge(signed(merge, limited)), scope, child);

    // The owner's same requests go through: the refusals were about the right.
    StructureResponse ok = f().structure(0).move(signed(move, f().fabric.admin()));
    assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, ok.getOutcome(), ok.getReason());
    StructureResponse merged = f().structure(2).merge(signed(merge, f().fabric.admin()));
    assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, merged.getOutcome(), merged.getReason());
    f().awaitSettled(Duration.ofSeconds(60));
  }

  /**
   * The ENS-fuse rule: a child whose policy does not let its parent take it back (and whose owner
   * is no longer the parent's) cannot be moved away inside its parent's subtree, nor merged back,
   * by the parent's owner; the coordinator refuses before recording anything.
   */
  @Test
  void aParentCannotMoveOrMergeAwayAnEmancipatedChild() {
    long user = f().scope("user");
    long svc = f().scope("svc");
    Policy owned = Policies.ownedBy(f().fabric.admin().publicKey());
    long parent = f().createChild(user, "user@fuse", owned, List.of(0, 1, 2));
    f().submit(f().factory.bind(parent, Alias.parse("user@fuse/t/x"), StructFabric.record("h")));
    long free =
        f().createChild(
                parent,
                "user@fuse/t/free",
                owned.toBuilder().setParentMayReclaim(false).build(),
                List.of(0, 1, 2));
    KeyPair newOwner = Ed25519.generate(new SecureRandom());
    f().submit(f().factory.transfer(free, List.of(newOwner.publicKey()), true));

    Mutation move = f().moveRequest(parent, "user@fuse/t", svc, "svc@fuse");
    assertRefusedUnchanged("parent_may_reclaim", () -> f().move(1, move), parent, svc, free);
    Mutation merge = f().mergeRequest(free);
    assertRefusedUnchanged("parent_may_reclaim", () -> f().merge(2, merge), parent, free);
    assertEquals("user@fuse/t/free", f().meta(free).getPath().getText());
  }

  /**
   * Redirect compression across a move: a chain of renames inside one scope, then a move of the
   * last name to another scope. The first name resolves REDIRECTED to the original UID, and the
   * traced walk asks each scope on the way once: the scope holding the chain answers for the whole
   * chain in one lookup, whatever its length.
   */
  @Test
  void aRenameChainThenACrossScopeMoveResolvesInOneLookupPerScope() {
    long user = f().scope("user");
    long svc = f().scope("svc");
    int[] lengths = {1, 30};
    List<List<String>> paths = new ArrayList<>();
    for (int n : lengths) {
      String scopePath = "user@chain" + n;
      long scope =
          f().createChild(
                  user,
                  scopePath,
                  Policies.ownedBy(f().fabric.admin().publicKey()),
                  List.of(0, 1, 2));
      String first = scopePath + "/x0";
      Uid uid =
          Uid.fromProto(
              f().submit(f().factory.bind(scope, Alias.parse(first), StructFabric.record("h")))
                  .getUid());
      for (int i = 1; i <= n; i++) {
        f().submit(
                f().factory
                    .rename(
                        scope,
                        Alias.parse(scopePath + "/x" + (i - 1)),
                        Alias.parse(scopePath + "/x" + i)));
      }
      String to = "svc@chain" + n;
      StructureResponse r = f().move(n % 3, f().moveRequest(scope, scopePath + "/x" + n, svc, to));
      assertEquals(TxnOutcome.TXN_OUTCOME_COMMITTED, r.getOutcome(), r.getReason());

      List<String> seeds = List.of(f().address(0), f().address(1), f().address(2));
      try (AnfResolver resolver = new AnfResolver(ResolverConfig.of(seeds))) {
        LookupResult traced = resolver.resolve(first, ResolveOptions.DEFAULT.withTrace(true));
        assertEquals(LookupStatus.LOOKUP_STATUS_REDIRECTED, traced.getStatus(), first);
        assertEquals(uid, Uid.fromProto(traced.getUid()), "the original UID");
        assertEquals(to, traced.getCanonicalAlias().getText());
        assertTrue(
            traced.getRedirectChainList().stream().anyMatch(a -> a.getText().equals(first)),
            "the chain starts at the name asked: " + traced.getRedirectChainList());
        List<String> walked = new ArrayList<>();
        for (PathStep s : traced.getPathList()) {
          walked.add(s.getScope().getText().isEmpty() ? "(root)" : s.getScope().getText());
        }
        // To the scope of the chain (root, user, the scope), then from the root to svc.
        assertEquals(List.of("(root)", "user", scopePath, "(root)", "svc"), walked, first);
        paths.add(walked);
        // Every intermediate name as well: one lookup in the chain's scope, same answer.
        for (int i = 1; i < n; i++) {
          LookupResult mid =
              resolver.resolve(scopePath + "/x" + i, ResolveOptions.DEFAULT.withTrace(true));
          assertEquals(uid, Uid.fromProto(mid.getUid()), "x" + i);
          assertEquals(5, mid.getPathCount(), "x" + i);
        }
      }
    }
    assertEquals(paths.get(0).size(), paths.get(1).size(), "independent of the chain's length");
  }
}
