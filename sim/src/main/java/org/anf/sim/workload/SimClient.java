package org.anf.sim.workload;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import org.anf.resolver.transport.GrpcErrors;
import org.anf.sim.faults.ServiceLinkInterceptor;
import org.jspecify.annotations.Nullable;

/**
 * A simulated client and resolver: submits signed mutations to a scope's anchors (retrying the same
 * mutation, which the group deduplicates by id, on another anchor until a deadline), and resolves
 * aliases by walking AnchorService lookups from the root scope through delegations, honouring the
 * freshness each anchor reports. Its calls name it ({@code c1}...) so link faults apply to them.
 */
public final class SimClient implements AutoCloseable {
  private final String id;
  private final Map<String, ManagedChannel> channels = new HashMap<>();
  private final Map<String, String> idByAddress = new HashMap<>();
  private final List<String> preferred;
  private final Mutant mutant;
  private final long opTimeoutMs;

  /** What became of a write. */
  public record WriteResult(
      org.anf.sim.history.Op.Outcome outcome, @Nullable String uid, String via, String detail) {}

  /** What a resolution walk answered. */
  public record Answer(
      org.anf.sim.history.Op.Outcome outcome,
      @Nullable String status,
      @Nullable String uid,
      boolean stale,
      long ageMs,
      String via,
      String detail) {}

  /**
   * @param anchors anchor id → gRPC address, in the order this client prefers them
   * @param named whether calls carry the client's name (false for the checker's observer)
   */
  public SimClient(
      String id, Map<String, String> anchors, boolean named, Mutant mutant, long opTimeoutMs) {
    this.id = id;
    this.mutant = mutant;
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
   * or the operation's deadline passes (then the outcome is indeterminate).
   */
  public WriteResult submit(SignedMutation m, List<String> anchors) {
    if (mutant == Mutant.ACK_BEFORE_COMMIT) {
      return ackBeforeCommit(m, anchors);
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(opTimeoutMs);
    String last = "no anchor reachable";
    String via = "";
    for (int attempt = 0; System.nanoTime() < deadline; attempt++) {
      for (String a : order(anchors)) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
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
              org.anf.sim.history.Op.Outcome.OK,
              uid,
              a,
              "seq " + r.getEntry().getSeq() + (r.getDuplicate() ? " (retry, deduplicated)" : ""));
        } catch (StatusRuntimeException e) {
          AnfException ae = GrpcErrors.fromStatus(e);
          if (ae.code().isCallerError() && ae.code() != ErrorCode.UNKNOWN_SCOPE) {
            return new WriteResult(
                org.anf.sim.history.Op.Outcome.REFUSED,
                null,
                a,
                ae.code() + ": " + ae.getMessage());
          }
          last = ae.code() + ": " + ae.getMessage();
        }
      }
      pause(Math.min(500, 50L << Math.min(attempt, 4)));
    }
    return new WriteResult(org.anf.sim.history.Op.Outcome.INDETERMINATE, null, via, last);
  }

  /** The mutant: acknowledges as soon as the mutation is on its way. */
  private WriteResult ackBeforeCommit(SignedMutation m, List<String> anchors) {
    String a = order(anchors).get(0);
    var f =
        MutationServiceGrpc.newFutureStub(channel(a))
            .withDeadlineAfter(4, TimeUnit.SECONDS)
            .submit(SubmitRequest.newBuilder().setMutation(m).build());
    try {
      SubmitResponse r = f.get(20, TimeUnit.MILLISECONDS);
      String uid = r.hasUid() ? Uid.fromProto(r.getUid()).text() : null;
      return new WriteResult(org.anf.sim.history.Op.Outcome.OK, uid, a, "mutant: fast reply");
    } catch (java.util.concurrent.TimeoutException e) {
      return new WriteResult(
          org.anf.sim.history.Op.Outcome.OK, null, a, "mutant: acknowledged before the reply");
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable c = e.getCause();
      String why = c == null ? String.valueOf(e.getMessage()) : c.getMessage();
      return new WriteResult(org.anf.sim.history.Op.Outcome.REFUSED, null, a, String.valueOf(why));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new WriteResult(org.anf.sim.history.Op.Outcome.INDETERMINATE, null, a, "interrupted");
    }
  }

  /**
   * Resolves an alias: from the root scope (asked of {@code rootAnchors}) through each delegation
   * to the scope that answers. Stale if any step was; the age is the largest.
   */
  public Answer resolve(
      String alias, Consistency consistency, int maxStalenessMs, List<String> rootAnchors) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(opTimeoutMs);
    Alias name = Alias.parse(alias);
    long scope = 0;
    int scopeLabels = 0;
    List<String> anchors = rootAnchors;
    boolean stale = false;
    long age = 0;
    String via = "";
    for (int hop = 0; hop < 16; hop++) {
      LookupRequest req =
          LookupRequest.newBuilder()
              .setScopeId(scope)
              .setAlias(name.toProto())
              .setScopeLabels(scopeLabels)
              .setConsistency(consistency)
              .setMaxStalenessMs(maxStalenessMs)
              .build();
      LookupResult r = null;
      String last = "no anchor of the scope answered";
      for (int attempt = 0; r == null && System.nanoTime() < deadline; attempt++) {
        for (String a : order(anchors)) {
          long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
          if (left <= 0) {
            break;
          }
          via = a;
          try {
            r =
                AnchorServiceGrpc.newBlockingStub(channel(a))
                    .withDeadlineAfter(Math.min(left, 2000), TimeUnit.MILLISECONDS)
                    .lookup(req);
            break;
          } catch (StatusRuntimeException e) {
            AnfException ae = GrpcErrors.fromStatus(e);
            last = a + ": " + ae.code() + ": " + ae.getMessage();
            if (ae.code().isCallerError() && ae.code() != ErrorCode.UNKNOWN_SCOPE) {
              return new Answer(
                  org.anf.sim.history.Op.Outcome.REFUSED, null, null, false, 0, a, last);
            }
          }
        }
        if (r == null) {
          pause(Math.min(300, 50L << Math.min(attempt, 3)));
        }
      }
      if (r == null) {
        return new Answer(
            org.anf.sim.history.Op.Outcome.INDETERMINATE, null, null, stale, age, via, last);
      }
      stale |= r.getFreshness().getStale();
      age = Math.max(age, r.getFreshness().getAgeMs());
      if (mutant == Mutant.UNMARK_STALE) {
        stale = false;
      }
      LookupStatus s = r.getStatus();
      if (s == LookupStatus.LOOKUP_STATUS_DELEGATED) {
        scope = r.getDelegation().getChildScopeId();
        scopeLabels = Alias.fromProto(r.getDelegation().getChild()).size();
        anchors = new ArrayList<>();
        for (AnchorInfo ai : r.getDelegation().getAnchors().getAnchorsList()) {
          String known = idByAddress.get(ai.getAddress());
          anchors.add(known != null ? known : ai.getId());
        }
        continue;
      }
      if (s == LookupStatus.LOOKUP_STATUS_REDIRECTED && r.hasRedirectTo()) {
        // Another scope holds the successor: start over from the root with the new name.
        name = Alias.fromProto(r.getRedirectTo());
        scope = 0;
        scopeLabels = 0;
        anchors = rootAnchors;
        continue;
      }
      boolean redirected = s == LookupStatus.LOOKUP_STATUS_REDIRECTED;
      if (redirected && mutant == Mutant.SKIP_REDIRECT) {
        return new Answer(
            org.anf.sim.history.Op.Outcome.OK, "NOT_FOUND", null, stale, age, via, "mutant");
      }
      String uid = r.hasUid() ? Uid.fromProto(r.getUid()).text() : null;
      String status = redirected ? "REDIRECTED" : s.name().substring("LOOKUP_STATUS_".length());
      return new Answer(
          org.anf.sim.history.Op.Outcome.OK,
          status,
          uid,
          stale,
          age,
          via,
          r.getCanonicalAlias().getText());
    }
    return new Answer(
        org.anf.sim.history.Op.Outcome.INDETERMINATE, null, null, stale, age, via, "too many hops");
  }

  private ManagedChannel channel(String anchor) {
    ManagedChannel c = channels.get(anchor);
    if (c == null) {
      throw new IllegalArgumentException("client " + id + " knows no anchor '" + anchor + "'");
    }
    return c;
  }

  static String hex(byte[] b) {
    return HexFormat.of().formatHex(b);
  }

  private static void pause(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
