package org.anf.anchor.rpc;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.statemachine.ScopeRegistry;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.Freshness;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.GetLineageResponse;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupBatchRequest;
import org.anf.proto.v1.LookupBatchResponse;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.WatchEvent;
import org.anf.proto.v1.WatchRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reads: lookups at the consistency asked, lineage, and Watch streams. */
public final class AnchorServiceImpl extends AnchorServiceGrpc.AnchorServiceImplBase
    implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(AnchorServiceImpl.class);
  static final int MAX_BATCH = 1000;
  static final int DEFAULT_LINEAGE_LIMIT = 1000;
  static final int WATCH_QUEUE_MAX = 10_000;
  static final long LINEARIZABLE_TIMEOUT_MS = 5000;

  private final NodeContext ctx;
  private final ExecutorService watchers =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "anf-watch");
            t.setDaemon(true);
            return t;
          });

  public AnchorServiceImpl(NodeContext ctx) {
    this.ctx = ctx;
  }

  @Override
  public void lookup(LookupRequest req, StreamObserver<LookupResult> out) {
    Handlers.unary("Lookup", out, () -> lookup(req));
  }

  LookupResult lookup(LookupRequest req) {
    long started = System.nanoTime();
    ScopeStateMachine sm = ctx.scope(req.getScopeId());
    long scope = sm.scopeId();
    long boundMs =
        req.getMaxStalenessMs() > 0
            ? req.getMaxStalenessMs()
            : ctx.boundedStalenessDefault.toMillis();
    LookupResult.Builder r;
    if (req.getConsistency() == Consistency.CONSISTENCY_LINEARIZABLE) {
      r = linearizable(scope, req).toBuilder();
    } else {
      NodeContext.Staleness s = ctx.staleness(sm);
      // Fresh only if the leader was heard from and what it had committed then is applied here
      // (or was, recently enough): contact alone says nothing of an apply backlog.
      boolean within = s.leaderKnown() && s.ageMs() <= boundMs;
      if (req.getConsistency() == Consistency.CONSISTENCY_BOUNDED && !within) {
        // Cannot show the bound locally: a read index from the leader, or a clear refusal.
        try {
          r = linearizable(scope, req).toBuilder();
        } catch (AnfException e) {
          throw new AnfException(
              ErrorCode.UNAVAILABLE,
              "anchor "
                  + ctx.nodeId
                  + " cannot answer within "
                  + boundMs
                  + " ms of its leader ("
                  + describe(s)
                  + ") and no read index was possible: "
                  + e.getMessage()
                  + "; ask with consistency ANY to accept a stale answer");
        }
      } else {
        r = sm.lookup(req).toBuilder();
        // When it cannot tell at all, the age is at least as long as this replica has run.
        long age = s.ageMs() == Long.MAX_VALUE ? sm.upMs() : s.ageMs();
        r.getFreshnessBuilder().setStale(!within).setAgeMs(age);
      }
    }
    r.setAnchorId(ctx.nodeId);
    ctx.metrics.lookup(Duration.ofNanos(System.nanoTime() - started));
    return r.build();
  }

  private static String describe(NodeContext.Staleness s) {
    String age = s.ageMs() == Long.MAX_VALUE ? "unknown" : s.ageMs() + " ms";
    if (!s.leaderKnown()) {
      return "no leader known; state age " + age;
    }
    return s.appliedAll()
        ? "last contact " + age + " ago"
        : "still applying what its leader committed; state age " + age;
  }

  private LookupResult linearizable(long scope, LookupRequest req) {
    LookupResult r =
        Handlers.await(
            ctx.groups.linearizableLookup(scope, req),
            LINEARIZABLE_TIMEOUT_MS,
            "linearizable read");
    return r.toBuilder()
        .setFreshness(r.getFreshness().toBuilder().setStale(false).setAgeMs(0))
        .build();
  }

  @Override
  public void lookupBatch(LookupBatchRequest req, StreamObserver<LookupBatchResponse> out) {
    Handlers.unary(
        "LookupBatch",
        out,
        () -> {
          if (req.getRequestsCount() > MAX_BATCH) {
            throw new AnfException(
                ErrorCode.TOO_LARGE,
                "a batch holds at most " + MAX_BATCH + " lookups, got " + req.getRequestsCount());
          }
          LookupBatchResponse.Builder b = LookupBatchResponse.newBuilder();
          for (LookupRequest r : req.getRequestsList()) {
            try {
              b.addResults(lookup(r));
            } catch (AnfException e) {
              b.addResults(
                  LookupResult.newBuilder()
                      .setStatus(LookupStatus.LOOKUP_STATUS_UNSPECIFIED)
                      .setDetail(e.code() + ": " + e.getMessage()));
            }
          }
          return b.build();
        });
  }

  @Override
  public void getLineage(GetLineageRequest req, StreamObserver<GetLineageResponse> out) {
    Handlers.unary("GetLineage", out, () -> lineage(req));
  }

  GetLineageResponse lineage(GetLineageRequest req) {
    ScopeStateMachine sm = ctx.scope(req.getScopeId());
    int limit = req.getLimit() == 0 ? DEFAULT_LINEAGE_LIMIT : Math.min(req.getLimit(), 10_000);
    long first = sm.firstRetainedSeq();
    // No position asked: the whole chain this anchor still keeps.
    long from = req.getFromSeq() == 0 ? first : req.getFromSeq();
    if (from < first) {
      throw new AnfException(
          ErrorCode.OUT_OF_RANGE,
          "lineage entries below seq " + first + " were compacted on anchor " + ctx.nodeId);
    }
    Matcher matcher = Matcher.of(req);
    ScopeState state = sm.state();
    long head = state.headSeq();
    GetLineageResponse.Builder b =
        GetLineageResponse.newBuilder()
            .setHeadSeq(head)
            .setHeadHash(com.google.protobuf.ByteString.copyFrom(state.headHash()))
            .setAnchorId(ctx.nodeId);
    List<LineageEntry> found = new ArrayList<>();
    boolean[] more = {false};
    state
        .kv()
        .scan(
            StateKeys.lineage(from),
            StateKeys.column((byte) (StateKeys.LINEAGE + 1)),
            (k, v) -> {
              LineageEntry e = ScopeState.parse(v, LineageEntry.parser());
              if (matcher.matches(e)) {
                if (found.size() == limit) {
                  more[0] = true;
                  return false;
                }
                found.add(e);
              }
              return true;
            });
    return b.addAllEntries(found).setTruncated(more[0]).build();
  }

  /** Which entries concern an alias or a UID (and, as they are found, the UIDs it became). */
  private static final class Matcher {
    private final List<String> aliasLabels;
    private final java.util.Set<Uid> uids = new java.util.HashSet<>();
    private final boolean all;

    private Matcher(List<String> aliasLabels, boolean all) {
      this.aliasLabels = aliasLabels;
      this.all = all;
    }

    static Matcher of(GetLineageRequest req) {
      return switch (req.getTargetCase()) {
        case ALIAS -> new Matcher(Alias.fromProto(req.getAlias()).labels(), false);
        case UID -> {
          Matcher m = new Matcher(List.of(), false);
          m.uids.add(Uid.fromProto(req.getUid()));
          yield m;
        }
        case TARGET_NOT_SET -> new Matcher(List.of(), true);
      };
    }

    boolean matches(LineageEntry e) {
      if (all) {
        return true;
      }
      boolean hit = false;
      for (EffectItem i : e.getEffect().getItemsList()) {
        boolean aliasHit =
            !aliasLabels.isEmpty()
                && ((i.hasAlias() && labels(i.getAlias()).equals(aliasLabels))
                    || (i.hasTarget() && labels(i.getTarget()).equals(aliasLabels)));
        boolean uidHit = i.hasUid() && uids.contains(Uid.fromProto(i.getUid()));
        if (aliasHit || uidHit) {
          hit = true;
          if (i.hasUid()) {
            uids.add(Uid.fromProto(i.getUid()));
          }
          if (i.hasSuccessor()) {
            uids.add(Uid.fromProto(i.getSuccessor()));
          }
        }
      }
      return hit;
    }

    private static List<String> labels(org.anf.proto.v1.Alias a) {
      try {
        return a.getText().isEmpty() ? List.of() : Alias.parse(a.getText()).labels();
      } catch (AnfException e) {
        return List.of();
      }
    }
  }

  @Override
  public void watch(WatchRequest req, StreamObserver<WatchEvent> out) {
    ScopeStateMachine sm;
    long from;
    try {
      sm = ctx.scope(req.getScopeId());
      long head = sm.state().headSeq();
      from = req.getFromSeq() == 0 ? head + 1 : req.getFromSeq();
      long first = sm.firstRetainedSeq();
      if (from < first) {
        throw new AnfException(
            ErrorCode.OUT_OF_RANGE,
            "lineage entries below seq "
                + first
                + " were compacted on anchor "
                + ctx.nodeId
                + "; re-read the scope and watch from seq "
                + first);
      }
    } catch (Throwable t) {
      out.onError(Handlers.status("Watch", t));
      return;
    }
    long heartbeatMs = req.getHeartbeatMs() == 0 ? 1000 : Math.max(100, req.getHeartbeatMs());
    Watcher w = new Watcher(sm, from, heartbeatMs, (ServerCallStreamObserver<WatchEvent>) out);
    ctx.registry.addListener(w);
    ((ServerCallStreamObserver<WatchEvent>) out).setOnCancelHandler(w::cancel);
    watchers.execute(w);
  }

  /**
   * This anchor's freshness for a scope as an ANY lookup reports it, with the default bound and the
   * scope's lineage head.
   */
  private Freshness freshness(ScopeStateMachine sm) {
    NodeContext.Staleness s = ctx.staleness(sm);
    boolean within = s.leaderKnown() && s.ageMs() <= ctx.boundedStalenessDefault.toMillis();
    long age = s.ageMs() == Long.MAX_VALUE ? sm.upMs() : s.ageMs();
    return Freshness.newBuilder()
        .setStale(!within)
        .setAgeMs(age)
        .setLineageSeq(sm.state().headSeq())
        .build();
  }

  /**
   * One Watch stream: backfill from the store, then entries as they apply, and a heartbeat with
   * this anchor's freshness whenever none went out for {@code heartbeatMs}.
   */
  private final class Watcher implements Runnable, ScopeRegistry.EntryListener {
    private final ScopeStateMachine sm;
    private final long heartbeatMs;
    private final ServerCallStreamObserver<WatchEvent> out;
    private final LinkedBlockingQueue<LineageEntry> queue =
        new LinkedBlockingQueue<>(WATCH_QUEUE_MAX);
    private volatile boolean cancelled;
    private volatile boolean overflowed;
    private long next;

    Watcher(
        ScopeStateMachine sm,
        long from,
        long heartbeatMs,
        ServerCallStreamObserver<WatchEvent> out) {
      this.sm = sm;
      this.next = from;
      this.heartbeatMs = heartbeatMs;
      this.out = out;
    }

    @Override
    public void onEntry(long scopeId, LineageEntry entry) {
      if (scopeId == sm.scopeId() && !queue.offer(entry)) {
        overflowed = true;
      }
    }

    void cancel() {
      cancelled = true;
      ctx.registry.removeListener(this);
    }

    @Override
    public void run() {
      try {
        // Backfill what is stored, then follow the queue (dropping what the backfill covered).
        ScopeState state = sm.state();
        long head = state.headSeq();
        for (long seq = next; seq <= head && !cancelled; seq++) {
          LineageEntry e = state.lineage(seq);
          if (e == null) {
            throw new AnfException(
                ErrorCode.OUT_OF_RANGE, "lineage entry " + seq + " was compacted");
          }
          send(e);
        }
        heartbeat();
        while (!cancelled) {
          if (overflowed) {
            throw new AnfException(
                ErrorCode.UNAVAILABLE,
                "watcher fell more than "
                    + WATCH_QUEUE_MAX
                    + " entries behind; watch again from seq "
                    + next);
          }
          LineageEntry e = queue.poll(heartbeatMs, TimeUnit.MILLISECONDS);
          if (e == null) {
            heartbeat();
          } else if (e.getSeq() >= next) {
            send(e);
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        // The anchor is closing: say so now rather than leave the stream to the server's grace
        // period, so that watchers move to another anchor at once.
        if (!cancelled) {
          try {
            out.onError(
                io.grpc.Status.UNAVAILABLE
                    .withDescription("anchor " + ctx.nodeId + " is shutting down")
                    .asRuntimeException());
          } catch (RuntimeException ignored) {
            // The call is gone already.
          }
        }
      } catch (Throwable t) {
        if (!cancelled) {
          try {
            out.onError(Handlers.status("Watch", t));
          } catch (RuntimeException ignored) {
            // The call is gone already.
          }
        }
      } finally {
        ctx.registry.removeListener(this);
      }
    }

    private void send(LineageEntry e) {
      WatchEvent ev = WatchEvent.newBuilder().setEntry(e).setFreshness(freshness(sm)).build();
      synchronized (out) {
        out.onNext(ev);
      }
      next = e.getSeq() + 1;
    }

    private void heartbeat() {
      WatchEvent ev = WatchEvent.newBuilder().setFreshness(freshness(sm)).build();
      synchronized (out) {
        out.onNext(ev);
      }
    }
  }

  @Override
  public void close() {
    watchers.shutdownNow();
    LOG.debug("watch streams closed");
  }
}
