package org.anf.anchor.rpc;

import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.anf.anchor.statemachine.RefusedException;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
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
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;

/** Writes: checks what needs no state at the edge, then orders the mutation through Raft. */
public final class MutationServiceImpl extends MutationServiceGrpc.MutationServiceImplBase
    implements AutoCloseable {
  private final NodeContext ctx;
  private final LeaderForwarder forwarder = new LeaderForwarder();

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
              // On to the leader, where this scope's writes meet in one batcher; if that fails
              // (the leader moved, or is gone), through this anchor's own Raft client instead.
              f =
                  forwarder
                      .forward(leader.getAddress(), req)
                      .exceptionallyCompose(
                          e -> {
                            Throwable c = Handlers.unwrap(e);
                            if (c instanceof io.grpc.StatusRuntimeException sre
                                && sre.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
                              return CompletableFuture.failedFuture(sre);
                            }
                            return viaRaft(sm, req);
                          });
            }
          }
          if (f == null) {
            f = viaRaft(sm, req);
          }
          return f.whenComplete(
              (r, e) -> ctx.metrics.submitted(Duration.ofNanos(System.nanoTime() - started)));
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
