package org.anf.sim.workload;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.PathStep;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.StructureRequest;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.StructureServiceGrpc;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.anf.proto.v1.TxnOutcome;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.transport.GrpcErrors;
import org.anf.sim.faults.ResolverLinks;
import org.anf.sim.faults.ServiceLinkInterceptor;
import org.anf.sim.history.Op;
import org.jspecify.annotations.Nullable;

/**
 * A simulated client: a writer that submits signed mutations (and structural requests) to a scope's
 * anchors, retrying the same request, which the fabric deduplicates by id, on another anchor until
 * a deadline; and a reader that resolves through the production resolver ({@link AnfResolver}, with
 * its caches, serve-stale and hedging), one per client. Its calls name it ({@code c1}...) so link
 * faults apply to them: the writer's directly, the resolver's through its {@link ResolverLinks}.
 */
public final class SimClient implements AutoCloseable {
  private final String id;
  private final Map<String, ManagedChannel> channels = new HashMap<>();
  private final Map<String, String> idByAddress = new HashMap<>();
  private final List<String> preferred;
  private final long opTimeoutMs;
  private final @Nullable ResolverLinks links;
  private final AnfResolver resolver;

  /**
   * What became of a write.
   *
   * @param seq the lineage position acknowledged in the scope written to (0: none known)
   */
  public record WriteResult(
      Op.Outcome outcome, @Nullable String uid, String via, String detail, long seq) {}

  /** What a resolution answered. */
  public record Answer(
      Op.Outcome outcome,
      @Nullable String status,
      @Nullable String uid,
      boolean stale,
      long ageMs,
      String via,
      String detail) {}

  /** The scope that governs a name, as one anchor saw it. */
  public record Located(long scopeId, String path) {}

  /**
   * @param anchors anchor id → gRPC address, in the order this client prefers them
   * @param named whether calls carry the client's name (false for the checker's observer, whose
   *     resolver also talks to the anchors directly)
   */
  public SimClient(String id, Map<String, String> anchors, boolean named, long opTimeoutMs) {
    this(id, anchors, named, opTimeoutMs, null);
  }

  /**
   * @param hedgeDelay the resolver's hedge delay, null for its default (golden scenarios use a long
   *     one so that "via N" decides which anchor answers)
   */
  public SimClient(
      String id,
      Map<String, String> anchors,
      boolean named,
      long opTimeoutMs,
      @Nullable Duration hedgeDelay) {
    this.id = id;
    this.opTimeoutMs = opTimeoutMs;
    this.preferred = new ArrayList<>(anchors.keySet());
    anchors.forEach(
        (anchor, address) -> {
          NettyChannelBuilder b = NettyChannelBuilder.forTarget(address).usePlaintext();
          if (named) {
            b.intercept(ServiceLinkInterceptor.naming(id));
          }
          channels.put(anchor, b.build());
          idByAddress.put(address, anchor);
        });
    this.links = named ? new ResolverLinks(id, anchors) : null;
    List<String> seeds = links != null ? links.seeds() : new ArrayList<>(anchors.values());
    ResolverConfig config = ResolverConfig.of(seeds);
    if (hedgeDelay != null) {
      config = config.withTimeouts(config.requestTimeout(), hedgeDelay, config.avoidFor());
    }
    this.resolver = new AnfResolver(config);
  }

  public String id() {
    return id;
  }

  /** The given anchors in this client's order of preference. */
  private List<String> order(List<String> anchors) {
    List<String> out = new ArrayList<>();
    for (String a : preferred) {
      if (anchors.contains(a)) {
        out.add(a);
      }
    }
    return out;
  }

  /**
   * Submits one signed mutation to the anchors of its scope until one acknowledges it, refuses it,
   * or the operation's deadline passes (then the outcome is indeterminate). A scope that no anchor
   * hosts (merged away, or not created yet) is a refusal, unless an earlier attempt may have
   * reached the group.
   */
  public WriteResult submit(SignedMutation m, List<String> anchors) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(opTimeoutMs);
    String last = "no anchor reachable";
    String via = "";
    boolean maybeApplied = false;
    for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
      boolean allUnknown = true;
      for (String a : order(anchors)) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          allUnknown = false;
          break;
        }
        via = a;
        try {
          SubmitResponse r =
              MutationServiceGrpc.newBlockingStub(channel(a))
                  .withDeadlineAfter(Math.min(left, 4000), TimeUnit.MILLISECONDS)
                  .submit(SubmitRequest.newBuilder().setMutation(m).build());
          String uid = r.hasUid() ? Uid.fromProto(r.getUid()).text() : null;
          return new WriteResult(
              Op.Outcome.OK,
              uid,
              a,
              "seq " + r.getEntry().getSeq() + (r.getDuplicate() ? " (retry, deduplicated)" : ""),
              r.getEntry().getSeq());
        } catch (StatusRuntimeException e) {
          AnfException ae = GrpcErrors.fromStatus(e);
          last = a + ": " + ae.code() + ": " + ae.getMessage();
          if (ae.code() == ErrorCode.UNKNOWN_SCOPE) {
            continue;
          }
          allUnknown = false;
          if (ae.code().isCallerError()) {
            return new WriteResult(Op.Outcome.REFUSED, null, a, last, 0);
          }
          maybeApplied = true;
        }
      }
      if (allUnknown && !maybeApplied) {
        return new WriteResult(Op.Outcome.REFUSED, null, via, last, 0);
      }
      pause(Math.min(500, 50L << Math.min(attempt, 4)));
    }
    return new WriteResult(Op.Outcome.INDETERMINATE, null, via, last, 0);
  }

  /**
   * Sends a structural request ({@code move}, {@code split} or {@code merge}) to the
   * StructureService of one of {@code anchors} (each must anchor every scope involved), again to
   * the next on UNAVAILABLE or a deadline: the transaction id makes a retry continue the same
   * transaction. COMMITTED is acknowledged, ABORTED (every side rolled back) and caller errors are
   * refusals, no answer within {@code timeoutMs} is indeterminate. {@code seq} is the last lineage
   * position the protocol wrote in {@code scopeId}.
   */
  public WriteResult structure(
      String kind, SignedMutation request, List<String> anchors, long scopeId, long timeoutMs) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    String last = "no anchor reachable";
    String via = "";
    StructureRequest req = StructureRequest.newBuilder().setRequest(request).build();
    for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
      for (String a : order(anchors)) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          break;
        }
        via = a;
        try {
          var stub =
              StructureServiceGrpc.newBlockingStub(channel(a))
                  .withDeadlineAfter(left, TimeUnit.MILLISECONDS);
          StructureResponse r =
              switch (kind) {
                case "move" -> stub.move(req);
                case "split" -> stub.split(req);
                case "merge" -> stub.merge(req);
                default -> throw new IllegalArgumentException("no structural request " + kind);
              };
          long seq = 0;
          for (LineageEntry e : r.getEntriesList()) {
            if (e.getScopeId() == scopeId) {
              seq = Math.max(seq, e.getSeq());
            }
          }
          String txn = Bytes.hex(r.getTxnId().toByteArray()).substring(0, 12);
          if (r.getOutcome() == TxnOutcome.TXN_OUTCOME_COMMITTED) {
            List<String> made = new ArrayList<>();
            r.getChildScopeIdsList().forEach(c -> made.add(ScopeIds.text(c)));
            return new WriteResult(
                Op.Outcome.OK,
                null,
                a,
                "committed, txn "
                    + txn
                    + ", "
                    + r.getEntriesCount()
                    + " lineage entries"
                    + (made.isEmpty() ? "" : ", child scopes " + made),
                seq);
          }
          return new WriteResult(
              Op.Outcome.REFUSED, null, a, "aborted, txn " + txn + ": " + r.getReason(), 0);
        } catch (StatusRuntimeException e) {
          AnfException ae = GrpcErrors.fromStatus(e);
          last = a + ": " + ae.code() + ": " + ae.getMessage();
          if (ae.code().isCallerError() && ae.code() != ErrorCode.UNKNOWN_SCOPE) {
            return new WriteResult(Op.Outcome.REFUSED, null, a, last, 0);
          }
        }
      }
      pause(Math.min(500, 50L << Math.min(attempt, 4)));
    }
    return new WriteResult(Op.Outcome.INDETERMINATE, null, via, last, 0);
  }

  /**
   * The scope that governs {@code alias} as one of {@code anchors} of its top-level scope sees it
   * (a single ANY lookup there, as a client does before a write): a child scope when the name lies
   * under a delegation, else the top-level scope itself. Null when no anchor answered.
   */
  public @Nullable Located locate(
      String alias, long topScope, String topPath, List<String> anchors) {
    LookupRequest req =
        LookupRequest.newBuilder()
            .setScopeId(topScope)
            .setAlias(Alias.parse(alias).toProto())
            .setScopeLabels(Alias.parse(topPath).size())
            .setConsistency(Consistency.CONSISTENCY_ANY)
            .build();
    for (String a : order(anchors)) {
      try {
        LookupResult r =
            AnchorServiceGrpc.newBlockingStub(channel(a))
                .withDeadlineAfter(1000, TimeUnit.MILLISECONDS)
                .lookup(req);
        if (r.getStatus() == LookupStatus.LOOKUP_STATUS_DELEGATED) {
          return new Located(
              r.getDelegation().getChildScopeId(), r.getDelegation().getChild().getText());
        }
        return new Located(topScope, topPath);
      } catch (StatusRuntimeException e) {
        // The next anchor, then.
      }
    }
    return null;
  }

  /**
   * Resolves an alias through this client's {@link AnfResolver}. An answer it gives is recorded as
   * given (status, UID, stale mark, age); an error that is not the caller's is an unanswered
   * resolve.
   */
  public Answer resolve(String alias, Consistency consistency, int maxStalenessMs) {
    LookupResult r;
    try {
      r = resolver.resolve(alias, new ResolveOptions(consistency, maxStalenessMs, false));
    } catch (AnfException e) {
      Op.Outcome o =
          e.code().isCallerError() && e.code() != ErrorCode.UNKNOWN_SCOPE
              ? Op.Outcome.REFUSED
              : Op.Outcome.INDETERMINATE;
      return new Answer(o, null, null, false, 0, "", e.code() + ": " + e.getMessage());
    }
    String via = "";
    if (r.getPathCount() > 0) {
      PathStep last = r.getPath(r.getPathCount() - 1);
      via = anchorName(last.getAnchorId()) + (last.getCached() ? " (cached)" : "");
    }
    String uid = r.hasUid() ? Uid.fromProto(r.getUid()).text() : null;
    String status = r.getStatus().name().substring("LOOKUP_STATUS_".length());
    String detail =
        r.getCanonicalAlias().getText()
            + (r.getDetail().isEmpty() ? "" : " (" + r.getDetail() + ")");
    return new Answer(
        Op.Outcome.OK,
        status,
        uid,
        r.getFreshness().getStale(),
        r.getFreshness().getAgeMs(),
        via,
        detail);
  }

  private String anchorName(String idOrAddress) {
    String known = idByAddress.get(idOrAddress);
    if (known != null) {
      return known;
    }
    ResolverLinks l = links;
    if (l != null) {
      String a = l.anchorOf(idOrAddress);
      if (a != null) {
        return a;
      }
    }
    return idOrAddress;
  }

  private ManagedChannel channel(String anchor) {
    ManagedChannel c = channels.get(anchor);
    if (c == null) {
      throw new IllegalArgumentException("client " + id + " knows no anchor '" + anchor + "'");
    }
    return c;
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** How long a client waits for one structural request (several groups, several steps). */
  public static Duration structureTimeout(long opTimeoutMs) {
    return Duration.ofMillis(Math.max(2 * opTimeoutMs, 10_000));
  }

  @Override
  public void close() {
    resolver.close();
    ResolverLinks l = links;
    if (l != null) {
      l.close();
    }
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
