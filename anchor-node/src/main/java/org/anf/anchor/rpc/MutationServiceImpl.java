package org.anf.anchor.rpc;

import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.anf.anchor.group.MutationBatcher;
import org.anf.anchor.statemachine.RefusedException;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.transition.Transitions;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.GetOutcomeRequest;
import org.anf.proto.v1.GetOutcomeResponse;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.OutcomeStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitBatchRequest;
import org.anf.proto.v1.SubmitBatchResponse;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;

/** Writes: checks what needs no state at the edge, then orders the mutation through Raft. */
public final class MutationServiceImpl extends MutationServiceGrpc.MutationServiceImplBase
    implements AutoCloseable {
  private final NodeContext ctx;
  private static final int FORWARD_IN_FLIGHT = 2;

  private final LeaderForwarder forwarder = new LeaderForwarder();
  private final Map<String, MutationBatcher> forwardBatchers = new ConcurrentHashMap<>();

  public MutationServiceImpl(NodeContext ctx) {
    this.ctx = ctx;
  }

  /** Intercepts incoming calls to recognise those another anchor forwarded. */
  public static io.grpc.ServerInterceptor forwardingInterceptor() {
    return LeaderForwarder.serverInterceptor();
  }

  @Override
  public void close() {
    forwarder.close();
  }

  /**
   * Size, form and the presence of a signature: refused here, before any Raft traffic. The
   * signature itself is verified once, by the group's leader, before the mutation is logged.
   */
  static Mutation checkAtEdge(NodeContext ctx, SignedMutation signed) {
    int size = signed.getMutation().size();
    if (size > ctx.maxMutationBytes) {
      throw new AnfException(
          ErrorCode.TOO_LARGE,
          "mutation is " + size + " bytes; this anchor accepts at most " + ctx.maxMutationBytes);
    }
    if (signed.getSignature().isEmpty() || signed.getPublicKey().isEmpty()) {
      throw new AnfException(
          ErrorCode.MISSING_SIGNATURE, "the mutation carries no signature or no public key");
    }
    Mutation m = Transitions.parse(signed);
    if (m.getMutationId().size() != Transitions.MUTATION_ID_BYTES) {
      throw AnfException.invalid("mutation_id", "a mutation id is 16 bytes");
    }
    if (m.getKindCase() == Mutation.KindCase.KIND_NOT_SET) {
      throw AnfException.invalid("mutation", "no mutation kind is set");
    }
    return m;
  }

  /** What became of a mutation, or the refusal it carries as an exception. */
  static SubmitResponse response(MutationReply r) {
    SubmitResponse.Builder b = SubmitResponse.newBuilder();
    switch (r.getOutcomeCase()) {
      case APPLIED -> b.setEntry(r.getApplied());
      case DUPLICATE -> b.setEntry(r.getDuplicate()).setDuplicate(true);
      case REFUSED -> throw RefusedException.toException(r.getRefused());
      default -> throw new AnfException(ErrorCode.INTERNAL, "the group sent no outcome");
    }
    if (r.hasUid()) {
      b.setUid(r.getUid());
    }
    return b.build();
  }

  @Override
  public void submit(SubmitRequest req, StreamObserver<SubmitResponse> out) {
    long started = System.nanoTime();
    boolean forwarded = LeaderForwarder.wasForwarded();
    Handlers.async(
        "Submit",
        out,
        () -> {
          Mutation m = checkAtEdge(ctx, req.getMutation());
          if (m.hasCreateScope()) {
            throw AnfException.invalid(
                "mutation", "a scope is created with AdminService.CreateScope, not Submit");
          }
          ScopeStateMachine sm = ctx.hosted(m.getScopeId());
          CompletableFuture<SubmitResponse> f = null;
          if (!forwarded && sm.state().exists()) {
            AnchorInfo leader =
                LeaderForwarder.leaderElsewhere(
                    ctx,
                    sm.scopeId(),
                    sm.store().read(() -> sm.state().meta().getAnchors().getAnchorsList()));
            if (leader != null) {
              // On to the leader, where this scope's writes meet in one batcher, in one call with
              // the other writes that reach this anchor meanwhile; if that fails (the leader
              // moved, or is gone), through this anchor's own Raft client instead.
              f =
                  forwardBatched(sm.scopeId(), leader.getAddress(), req.getMutation())
                      .exceptionallyCompose(
                          e -> {
                            Throwable c = Handlers.unwrap(e);
                            if (c instanceof io.grpc.StatusRuntimeException sre
                                && sre.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
                              return CompletableFuture.failedFuture(sre);
                            }
                            return ctx.groups.submit(sm.scopeId(), req.getMutation());
                          })
                      .thenApply(MutationServiceImpl::response);
            }
          }
          if (f == null) {
            f = viaRaft(sm, req);
          }
          return f.whenComplete(
              (r, e) -> ctx.metrics.submitted(Duration.ofNanos(System.nanoTime() - started)));
        });
  }

  /**
   * Forwarded writes of one scope gather per leader: while a forwarding call is out, the next one
   * fills. Two in flight, since a forwarded batch waits for the leader's batch in flight too.
   */
  private CompletableFuture<MutationReply> forwardBatched(
      long scopeId, String leaderAddress, SignedMutation m) {
    return forwardBatchers
        .computeIfAbsent(
            scopeId + "@" + leaderAddress,
            k ->
                new MutationBatcher(
                    ms -> forwarder.forwardBatch(leaderAddress, scopeId, ms), FORWARD_IN_FLIGHT))
        .submit(m);
  }

  /**
   * A batch another anchor forwarded: each mutation checked as a Submit is and queued for this
   * scope's batcher. A refusal is that mutation's reply; a failure of the group fails the call.
   */
  @Override
  public void submitBatch(SubmitBatchRequest req, StreamObserver<SubmitBatchResponse> out) {
    Handlers.async(
        "SubmitBatch",
        out,
        () -> {
          int n = req.getMutationsCount();
          if (n == 0 || n > MutationBatcher.MAX_MUTATIONS) {
            throw AnfException.invalid(
                "mutations",
                "a batch holds 1 to " + MutationBatcher.MAX_MUTATIONS + " mutations, got " + n);
          }
          ScopeStateMachine sm = ctx.hosted(req.getScopeId());
          List<CompletableFuture<MutationReply>> replies = new ArrayList<>(n);
          for (SignedMutation signed : req.getMutationsList()) {
            try {
              Mutation m = checkAtEdge(ctx, signed);
              if (m.hasCreateScope()) {
                throw AnfException.invalid(
                    "mutation", "a scope is created with AdminService.CreateScope, not Submit");
              }
              if (m.getScopeId() != req.getScopeId()) {
                throw AnfException.invalid(
                    "scope_id",
                    "a mutation of scope "
                        + ScopeIds.text(m.getScopeId())
                        + " in a batch for scope "
                        + ScopeIds.text(req.getScopeId()));
              }
            } catch (AnfException e) {
              replies.add(
                  CompletableFuture.completedFuture(
                      MutationReply.newBuilder().setRefused(RefusedException.refusal(e)).build()));
              continue;
            }
            replies.add(ctx.groups.submit(sm.scopeId(), signed));
          }
          return CompletableFuture.allOf(replies.toArray(CompletableFuture[]::new))
              .thenApply(
                  v -> {
                    SubmitBatchResponse.Builder b = SubmitBatchResponse.newBuilder();
                    replies.forEach(r -> b.addReplies(r.join()));
                    return b.build();
                  });
        });
  }

  private CompletableFuture<SubmitResponse> viaRaft(ScopeStateMachine sm, SubmitRequest req) {
    return ctx.groups
        .submit(sm.scopeId(), req.getMutation())
        .thenApply(MutationServiceImpl::response);
  }

  @Override
  public void getOutcome(GetOutcomeRequest req, StreamObserver<GetOutcomeResponse> out) {
    Handlers.unary(
        "GetOutcome",
        out,
        () -> {
          if (req.getMutationId().size() != Transitions.MUTATION_ID_BYTES) {
            throw AnfException.invalid("mutation_id", "a mutation id is 16 bytes");
          }
          ScopeStateMachine sm = ctx.scope(req.getScopeId());
          return sm.store()
              .read(
                  () -> {
                    ScopeState s = sm.state();
                    long seq = s.outcome(req.getMutationId().toByteArray());
                    if (seq == 0) {
                      return GetOutcomeResponse.newBuilder()
                          .setStatus(OutcomeStatus.OUTCOME_STATUS_UNKNOWN)
                          .setReason("no mutation with this id was applied in this scope (yet)")
                          .build();
                    }
                    GetOutcomeResponse.Builder b =
                        GetOutcomeResponse.newBuilder()
                            .setStatus(OutcomeStatus.OUTCOME_STATUS_APPLIED);
                    LineageEntry e = s.lineage(seq);
                    if (e != null) {
                      b.setEntry(e);
                    } else {
                      b.setReason("applied at seq " + seq + "; the entry itself was compacted");
                    }
                    return b.build();
                  });
        });
  }
}
