package org.anf.anchor.rpc;

import com.google.protobuf.ByteString;
import io.grpc.stub.StreamObserver;
import java.nio.file.Path;
import org.anf.anchor.statemachine.RefusedException;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.transition.Transitions;
import org.anf.proto.v1.AdminServiceGrpc;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.CreateScopeRequest;
import org.anf.proto.v1.CreateScopeResponse;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.MembershipRequest;
import org.anf.proto.v1.MembershipResponse;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SnapshotChunk;
import org.anf.proto.v1.SnapshotRequest;
import org.anf.proto.v1.SnapshotResponse;
import org.anf.proto.v1.StatusRequest;
import org.anf.proto.v1.StatusResponse;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;

/**
 * Operating the groups: scope creation, membership as governance transitions, status, snapshots.
 */
public final class AdminServiceImpl extends AdminServiceGrpc.AdminServiceImplBase {
  static final long LEADER_WAIT_MS = 15_000;
  private final NodeContext ctx;

  public AdminServiceImpl(NodeContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void createScope(CreateScopeRequest req, StreamObserver<CreateScopeResponse> out) {
    Handlers.unary("CreateScope", out, () -> createScope(req));
  }

  CreateScopeResponse createScope(CreateScopeRequest req) {
    Mutation genesis = MutationServiceImpl.checkAtEdge(ctx, req.getGenesis());
    if (!genesis.hasCreateScope()) {
      throw AnfException.invalid("genesis", "expected a CreateScope mutation");
    }
    // The genesis must stand on its own before anything is changed anywhere.
    Outcome dry = Transitions.apply(new MemoryKv(), req.getGenesis(), Transitions.Verify.SIGNATURE);
    if (dry instanceof Outcome.Refused r) {
      throw r.error();
    }
    long child = genesis.getScopeId();
    long parent = genesis.getCreateScope().getParentScopeId();
    CreateScopeResponse.Builder b = CreateScopeResponse.newBuilder();
    if (parent == 0) {
      // A root's genesis authorises itself, so only its uniqueness keeps a stranger from
      // creating one; a retry of this node's own root passes (and answers as a duplicate).
      Long root = ctx.registry.root();
      if (root != null && root != child) {
        throw new AnfException(
            ErrorCode.ALREADY_EXISTS,
            "anchor "
                + ctx.nodeId
                + " already hosts the root scope "
                + ScopeIds.text(root)
                + "; a fabric has one root (create a child scope under it instead)");
      }
    }
    if (parent != 0) {
      if (!req.hasDelegate()) {
        throw AnfException.invalid(
            "delegate", "a child scope needs its parent's Delegate mutation");
      }
      Mutation delegate = MutationServiceImpl.checkAtEdge(ctx, req.getDelegate());
      if (!delegate.hasDelegate()
          || delegate.getScopeId() != parent
          || delegate.getDelegate().getDelegation().getChildScopeId() != child) {
        throw AnfException.invalid(
            "delegate", "expected the parent's Delegate of scope " + ScopeIds.text(child));
      }
      // The parent records the child's policy by digest: the genesis must bring that policy.
      Delegation delegation = delegate.getDelegate().getDelegation();
      Policy brought = genesis.getCreateScope().getPolicy();
      if (!Policies.matchesDelegation(delegation, brought)) {
        throw AnfException.precondition(
            "the child's genesis policy (digest "
                + hex16(Policies.genesisDigest(brought))
                + ") is not the one the parent's delegation records (digest "
                + hex16(delegation.getPolicyDigest().toByteArray())
                + ")");
      }
      ScopeStateMachine parentSm = ctx.hosted(parent);
      MutationReply r =
          Handlers.await(
              ctx.groups.submit(parentSm.scopeId(), req.getDelegate()), LEADER_WAIT_MS, "delegate");
      b.setDelegateEntry(MutationServiceImpl.response(r).getEntry());
    } else if (req.hasDelegate()) {
      throw AnfException.invalid("delegate", "the root scope has no parent to delegate it");
    }
    AnchorMap anchors = genesis.getCreateScope().getAnchors();
    ctx.groups.createGroup(child, anchors);
    ctx.groups.awaitLeader(child, LEADER_WAIT_MS);
    MutationReply g = ctx.groups.submitTo(child, anchors, req.getGenesis());
    b.setGenesisEntry(MutationServiceImpl.response(g).getEntry());
    ScopeStateMachine sm = ctx.registry.get(child);
    // This node's replica may not have applied the genesis yet; then the reply says what it can.
    if (sm != null && sm.store().read(() -> sm.state().exists())) {
      b.setScope(status(sm));
    } else {
      b.setScope(
          ScopeStatus.newBuilder()
              .setScopeId(child)
              .setPath(genesis.getCreateScope().getPath())
              .setParentScopeId(parent)
              .setAnchors(anchors));
    }
    return b.build();
  }

  private static String hex16(byte[] digest) {
    String h = Bytes.hex(digest);
    return h.length() > 16 ? h.substring(0, 16) : h.isEmpty() ? "(none)" : h;
  }

  @Override
  public void addAnchor(MembershipRequest req, StreamObserver<MembershipResponse> out) {
    Handlers.unary(
        "AddAnchor",
        out,
        () -> {
          Mutation m = MutationServiceImpl.checkAtEdge(ctx, req.getMutation());
          if (!m.hasAddAnchor()) {
            throw AnfException.invalid("mutation", "expected an AddAnchor mutation");
          }
          ScopeStateMachine sm = ctx.scope(m.getScopeId());
          dryRun(sm, req.getMutation());
          AnchorInfo anchor = m.getAddAnchor().getAnchor();
          ctx.groups.addPeer(sm.scopeId(), anchor);
          return membership(
              sm, ctx.groups.submitTo(sm.scopeId(), currentAnchors(sm), req.getMutation()));
        });
  }

  @Override
  public void removeAnchor(MembershipRequest req, StreamObserver<MembershipResponse> out) {
    Handlers.unary(
        "RemoveAnchor",
        out,
        () -> {
          Mutation m = MutationServiceImpl.checkAtEdge(ctx, req.getMutation());
          if (!m.hasRemoveAnchor()) {
            throw AnfException.invalid("mutation", "expected a RemoveAnchor mutation");
          }
          ScopeStateMachine sm = ctx.scope(m.getScopeId());
          dryRun(sm, req.getMutation());
          String id = m.getRemoveAnchor().getAnchorId();
          AnchorMap remaining = without(currentAnchors(sm), id);
          ctx.groups.removePeer(sm.scopeId(), id);
          return membership(sm, ctx.groups.submitTo(sm.scopeId(), remaining, req.getMutation()));
        });
  }

  private static void dryRun(ScopeStateMachine sm, SignedMutation signed) {
    Outcome o =
        sm.store().read(() -> Transitions.apply(sm.store(), signed, Transitions.Verify.SIGNATURE));
    if (o instanceof Outcome.Refused r) {
      throw r.error();
    }
  }

  private static AnchorMap currentAnchors(ScopeStateMachine sm) {
    return sm.store().read(() -> sm.state().meta().getAnchors());
  }

  private static AnchorMap without(AnchorMap m, String id) {
    AnchorMap.Builder b = AnchorMap.newBuilder().setVersion(m.getVersion());
    m.getAnchorsList().stream().filter(a -> !a.getId().equals(id)).forEach(b::addAnchors);
    return b.build();
  }

  private MembershipResponse membership(ScopeStateMachine sm, MutationReply r) {
    if (r.hasRefused()) {
      throw RefusedException.toException(r.getRefused());
    }
    MembershipResponse.Builder b =
        MembershipResponse.newBuilder().setEntry(MutationServiceImpl.response(r).getEntry());
    try {
      b.setAnchors(currentAnchors(sm));
    } catch (AnfException e) {
      // This node may just have left the group; the entry says what happened.
    }
    return b.build();
  }

  @Override
  public void status(StatusRequest req, StreamObserver<StatusResponse> out) {
    Handlers.unary(
        "Status",
        out,
        () -> {
          StatusResponse.Builder b =
              StatusResponse.newBuilder().setNode(ctx.info.build()).addAllPeers(ctx.peers);
          if (req.getScopeId() != 0) {
            b.addScopes(status(ctx.scope(req.getScopeId())));
          } else {
            ctx.registry.all().values().stream()
                .filter(sm -> sm.state().exists())
                .sorted((a, c) -> Long.compareUnsigned(a.scopeId(), c.scopeId()))
                .forEach(sm -> b.addScopes(status(sm)));
          }
          return b.build();
        });
  }

  ScopeStatus status(ScopeStateMachine sm) {
    ScopeStatus.Builder b = ScopeStatus.newBuilder().setScopeId(sm.scopeId());
    sm.store()
        .read(
            () -> {
              ScopeState s = sm.state();
              ScopeMeta meta = s.meta();
              b.setPath(meta.getPath())
                  .setParentScopeId(meta.getParentScopeId())
                  .setAnchors(meta.getAnchors())
                  .setPolicy(meta.getPolicy())
                  .setLifecycle(meta.getLifecycle().name().substring("SCOPE_LIFECYCLE_".length()))
                  .setLineageSeq(s.headSeq())
                  .setLineageHead(ByteString.copyFrom(s.headHash()))
                  .setStateDigest(ByteString.copyFrom(StateDigest.of(s.kv())))
                  .setAppliedIndex(sm.store().applied().index());
              return null;
            });
    try {
      RaftServer.Division d = ctx.groups.division(sm.scopeId());
      DivisionInfo info = d.getInfo();
      b.setRole(info.getCurrentRole().name()).setTerm(info.getCurrentTerm());
      if (info.getLeaderId() != null) {
        b.setLeaderId(info.getLeaderId().toString());
      }
    } catch (AnfException e) {
      b.setRole("NONE");
    }
    org.apache.ratis.statemachine.SnapshotInfo snap = sm.latestSnapshot();
    if (snap != null) {
      b.setSnapshotIndex(snap.getIndex());
    }
    return b.build();
  }

  static final int CHUNK_BYTES = 1 << 20;

  @Override
  public void fetchSnapshot(SnapshotRequest req, StreamObserver<SnapshotChunk> out) {
    Path file;
    try {
      ScopeStateMachine sm = ctx.scope(req.getScopeId());
      SingleFileSnapshotInfo snap = sm.latestSnapshotFile();
      if (snap == null) {
        throw new AnfException(
            ErrorCode.NOT_FOUND,
            "scope "
                + ScopeIds.text(sm.scopeId())
                + " has no snapshot on anchor "
                + ctx.nodeId
                + "; take one with Snapshot first");
      }
      file = snap.getFile().getPath();
    } catch (Throwable t) {
      out.onError(Handlers.status("FetchSnapshot", t));
      return;
    }
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
      long offset = 0;
      long total = java.nio.file.Files.size(file);
      byte[] buf = new byte[CHUNK_BYTES];
      while (true) {
        int n = in.readNBytes(buf, 0, buf.length);
        SnapshotChunk.Builder chunk =
            SnapshotChunk.newBuilder().setOffset(offset).setData(ByteString.copyFrom(buf, 0, n));
        offset += n;
        boolean last = offset >= total || n == 0;
        if (last) {
          chunk.setTotalBytes(total).setFileName(file.getFileName().toString());
        }
        out.onNext(chunk.build());
        if (last) {
          break;
        }
      }
      out.onCompleted();
    } catch (java.io.IOException e) {
      out.onError(
          Handlers.status(
              "FetchSnapshot",
              new AnfException(ErrorCode.INTERNAL, "reading " + file + ": " + e.getMessage(), e)));
    }
  }

  @Override
  public void snapshot(SnapshotRequest req, StreamObserver<SnapshotResponse> out) {
    Handlers.unary(
        "Snapshot",
        out,
        () -> {
          ScopeStateMachine sm = ctx.scope(req.getScopeId());
          long index = ctx.groups.snapshot(sm.scopeId(), 60_000);
          SingleFileSnapshotInfo snap = sm.snapshotFile(index);
          if (snap == null || snap.getIndex() < index) {
            throw new AnfException(ErrorCode.INTERNAL, "snapshot at " + index + " left no file");
          }
          Path file = snap.getFile().getPath();
          return SnapshotResponse.newBuilder()
              .setIndex(snap.getIndex())
              .setTerm(snap.getTerm())
              .setLocation(file.toAbsolutePath().toString())
              .build();
        });
  }
}
