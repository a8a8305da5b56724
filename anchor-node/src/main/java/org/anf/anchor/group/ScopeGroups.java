package org.anf.anchor.group;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.anf.anchor.statemachine.RefusedException;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.GroupCommand;
import org.anf.proto.v1.GroupQuery;
import org.anf.proto.v1.GroupReply;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.MutationReply;
import org.anf.proto.v1.Refusal;
import org.anf.proto.v1.SignedMutation;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.retry.RequestTypeDependentRetryPolicy;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcFactory;
import org.apache.ratis.proto.RaftProtos.RaftClientRequestProto;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.SetConfigurationRequest;
import org.apache.ratis.protocol.exceptions.GroupMismatchException;
import org.apache.ratis.protocol.exceptions.LeaderNotReadyException;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.rpc.CallId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft groups of the scopes this node hosts: their ids, the clients that submit to them, and
 * the group management that creates, grows and shrinks them. One group per scope; the group id is
 * the scope id in the UUID's high bits, so every anchor derives the same group for a scope.
 */
public final class ScopeGroups implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ScopeGroups.class);
  // The scope id goes in the low bits: Ratis names a group by the UUID's last 6 bytes in logs
  // and JMX, so those must differ between groups.
  private static final long GROUP_ID_HIGH_BITS = 0x616e662d73636f70L; // "anf-scop"

  private final RaftServer server;
  private final Parameters parameters;
  private final RaftProperties clientProperties;
  private final TimeDuration writeTimeout;
  private final Map<Long, RaftClient> clients = new ConcurrentHashMap<>();

  /** Names this node's own writes to its local server (Ratis keys its retry cache by it). */
  private final ClientId localClient = ClientId.randomId();

  public ScopeGroups(RaftServer server, Parameters parameters, TimeDuration writeTimeout) {
    this.server = server;
    this.parameters = parameters;
    this.writeTimeout = writeTimeout;
    this.clientProperties = new RaftProperties();
    org.apache.ratis.client.RaftClientConfigKeys.Rpc.setRequestTimeout(
        clientProperties, TimeDuration.valueOf(3, TimeUnit.SECONDS));
    org.apache.ratis.client.RaftClientConfigKeys.Async.setOutstandingRequestsMax(
        clientProperties, 1000);
  }

  public static RaftGroupId groupId(long scopeId) {
    return RaftGroupId.valueOf(new UUID(GROUP_ID_HIGH_BITS, scopeId));
  }

  /** The scope of a group id, or null when the group is not an anf scope group. */
  public static @Nullable Long scopeOf(RaftGroupId gid) {
    UUID u = gid.getUuid();
    return u.getMostSignificantBits() == GROUP_ID_HIGH_BITS ? u.getLeastSignificantBits() : null;
  }

  public static RaftPeer peer(AnchorInfo a) {
    String raft = a.getRaftAddress().isEmpty() ? a.getAddress() : a.getRaftAddress();
    return RaftPeer.newBuilder().setId(a.getId()).setAddress(raft).build();
  }

  public static RaftGroup group(long scopeId, AnchorMap anchors) {
    List<RaftPeer> peers = new ArrayList<>();
    anchors.getAnchorsList().forEach(a -> peers.add(peer(a)));
    return RaftGroup.valueOf(groupId(scopeId), peers);
  }

  public RaftServer server() {
    return server;
  }

  public boolean hosts(long scopeId) {
    for (RaftGroupId g : server.getGroupIds()) {
      if (g.equals(groupId(scopeId))) {
        return true;
      }
    }
    return false;
  }

  public RaftServer.Division division(long scopeId) {
    try {
      return server.getDivision(groupId(scopeId));
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.UNKNOWN_SCOPE,
          "scope " + ScopeIds.text(scopeId) + " is not hosted on anchor " + server.getId());
    }
  }

  private RaftClient newClient(RaftGroup group) {
    RequestTypeDependentRetryPolicy retry =
        RequestTypeDependentRetryPolicy.newBuilder()
            .setRetryPolicy(
                RaftClientRequestProto.TypeCase.WRITE,
                RetryPolicies.retryForeverWithSleep(
                    TimeDuration.valueOf(50, TimeUnit.MILLISECONDS)))
            .setTimeout(RaftClientRequestProto.TypeCase.WRITE, writeTimeout)
            .setRetryPolicy(
                RaftClientRequestProto.TypeCase.READ,
                RetryPolicies.retryForeverWithSleep(
                    TimeDuration.valueOf(50, TimeUnit.MILLISECONDS)))
            .setTimeout(RaftClientRequestProto.TypeCase.READ, writeTimeout)
            .build();
    return newClient(group, retry);
  }

  private RaftClient newClient(RaftGroup group, org.apache.ratis.retry.RetryPolicy retry) {
    return RaftClient.newBuilder()
        .setRaftGroup(group)
        .setProperties(clientProperties)
        .setClientRpc(
            new GrpcFactory(parameters).newRaftClientRpc(ClientId.randomId(), clientProperties))
        .setRetryPolicy(retry)
        .build();
  }

  /** A client for a scope this node hosts, addressed to the group's current members. */
  private RaftClient client(long scopeId) {
    return clients.computeIfAbsent(scopeId, id -> newClient(division(id).getGroup()));
  }

  /** Forgets a scope's client, after its membership changed. */
  public void invalidate(long scopeId) {
    RaftClient c = clients.remove(scopeId);
    if (c != null) {
      closeQuietly(c);
    }
  }

  private final Map<Long, MutationBatcher> batchers = new ConcurrentHashMap<>();

  /**
   * Submits a mutation to the scope's group, batched with others submitted meanwhile; completes
   * with what became of it (a refusal is a reply, not an exception).
   */
  public CompletableFuture<MutationReply> submit(long scopeId, SignedMutation mutation) {
    return batchers
        .computeIfAbsent(scopeId, id -> new MutationBatcher(ms -> submitBatch(id, ms)))
        .submit(mutation);
  }

  /** Sends mutations as one log entry; one reply per mutation, in order. */
  public CompletableFuture<List<MutationReply>> submitBatch(
      long scopeId, List<SignedMutation> mutations) {
    Message m =
        Message.valueOf(
            ByteString.copyFrom(
                GroupCommand.newBuilder().addAllMutations(mutations).build().toByteArray()));
    int n = mutations.size();
    if (!division(scopeId).getInfo().isLeader()) {
      return viaClient(scopeId, m, n);
    }
    // This node leads: the entry goes to the local server, sparing a gRPC round trip to itself.
    // If leadership moved meanwhile, nothing was logged, and the client finds the new leader.
    RaftClientRequest request =
        RaftClientRequest.newBuilder()
            .setClientId(localClient)
            .setServerId(server.getId())
            .setGroupId(groupId(scopeId))
            .setCallId(CallId.getAndIncrement())
            .setMessage(m)
            .setType(RaftClientRequest.writeRequestType())
            .build();
    CompletableFuture<RaftClientReply> local;
    try {
      local = server.submitClientRequestAsync(request);
    } catch (IOException e) {
      return viaClient(scopeId, m, n);
    }
    CompletableFuture<List<MutationReply>> out = new CompletableFuture<>();
    // The server does not time out a request it holds, and the scope's batcher sends nothing more
    // until this batch is answered: bound the wait as the Raft client bounds its retries, so that
    // one lost answer cannot stop the scope's writes through this anchor.
    long timeoutMs = writeTimeout.toLong(TimeUnit.MILLISECONDS);
    var unused =
        local
            .copy()
            .orTimeout(timeoutMs, TimeUnit.MILLISECONDS)
            .whenComplete(
                (reply, error) -> {
                  try {
                    if (notLeader(reply, error)) {
                      var unusedRelay =
                          viaClient(scopeId, m, n)
                              .whenComplete(
                                  (r, e) -> {
                                    if (e != null) {
                                      out.completeExceptionally(e);
                                    } else {
                                      out.complete(r);
                                    }
                                  });
                    } else if (failureOf(reply, error) instanceof TimeoutException) {
                      LOG.warn(
                          "scope {}: a log entry of {} mutations had no answer from Raft in {} ms;"
                              + " they are answered UNAVAILABLE and may still commit",
                          ScopeIds.text(scopeId),
                          n,
                          timeoutMs);
                      out.complete(
                          allRefused(
                              n,
                              RefusedException.refusal(
                                  new AnfException(
                                      ErrorCode.UNAVAILABLE,
                                      "scope "
                                          + ScopeIds.text(scopeId)
                                          + ": no answer from the group in "
                                          + timeoutMs
                                          + " ms; the write may still commit (GetOutcome tells)"))));
                    } else {
                      out.complete(toReplies(scopeId, n, reply, error));
                    }
                  } catch (RuntimeException e) {
                    // Whatever went wrong, the batch gets an answer and the batcher moves on.
                    out.completeExceptionally(e);
                  }
                });
    return out;
  }

  /** The same refusal as the reply to each of {@code n} mutations. */
  private static List<MutationReply> allRefused(int n, Refusal why) {
    MutationReply refused = MutationReply.newBuilder().setRefused(why).build();
    List<MutationReply> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(refused);
    }
    return out;
  }

  private CompletableFuture<List<MutationReply>> viaClient(long scopeId, Message m, int n) {
    return client(scopeId)
        .async()
        .send(m)
        .handle((reply, error) -> toReplies(scopeId, n, reply, error));
  }

  private static boolean notLeader(@Nullable RaftClientReply reply, @Nullable Throwable error) {
    if (reply != null) {
      return reply.getNotLeaderException() != null
          || reply.getException() instanceof LeaderNotReadyException;
    }
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t instanceof NotLeaderException || t instanceof LeaderNotReadyException;
  }

  /** Submits to a group given by its anchors (one this node may not host: a new child scope). */
  public MutationReply submitTo(long scopeId, AnchorMap anchors, SignedMutation mutation) {
    try (RaftClient c = newClient(group(scopeId, anchors))) {
      Message m =
          Message.valueOf(
              ByteString.copyFrom(
                  GroupCommand.newBuilder().addMutations(mutation).build().toByteArray()));
      RaftClientReply reply;
      try {
        reply = c.io().send(m);
      } catch (IOException e) {
        return toReplies(scopeId, 1, null, e).get(0);
      }
      return toReplies(scopeId, 1, reply, null).get(0);
    } catch (IOException e) {
      throw new AnfException(ErrorCode.INTERNAL, "closing client: " + e.getMessage(), e);
    }
  }

  private List<MutationReply> toReplies(
      long scopeId, int n, @Nullable RaftClientReply reply, @Nullable Throwable error) {
    GroupReply r = toGroupReply(scopeId, reply, error);
    if (r.getRepliesCount() == n) {
      return r.getRepliesList();
    }
    Refusal why =
        r.getRepliesCount() == 1 && r.getReplies(0).hasRefused()
            ? r.getReplies(0).getRefused()
            : RefusedException.refusal(
                new AnfException(
                    ErrorCode.INTERNAL,
                    "the group answered " + r.getRepliesCount() + " of " + n + " mutations"));
    return allRefused(n, why);
  }

  /**
   * How long a linearizable read keeps retrying a transport failure: right after anchors restart,
   * the channel to the leader may sit in gRPC's reconnect backoff although the group has a leader.
   */
  static final long READ_RETRY_MS = 4000;

  private static final long READ_RETRY_PAUSE_MS = 100;

  /** A linearizable lookup: the local server runs it after a read index from the leader. */
  public CompletableFuture<LookupResult> linearizableLookup(long scopeId, LookupRequest req) {
    CompletableFuture<LookupResult> out = new CompletableFuture<>();
    readAttempt(
        scopeId, req, System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(READ_RETRY_MS), out);
    return out;
  }

  private void readAttempt(
      long scopeId, LookupRequest req, long deadlineNanos, CompletableFuture<LookupResult> out) {
    RaftClientRequest request =
        RaftClientRequest.newBuilder()
            .setClientId(ClientId.randomId())
            .setServerId(server.getId())
            .setGroupId(groupId(scopeId))
            .setCallId(CallId.getAndIncrement())
            .setMessage(
                Message.valueOf(
                    ByteString.copyFrom(
                        GroupQuery.newBuilder().setLookup(req).build().toByteArray())))
            .setType(RaftClientRequest.readRequestType())
            .build();
    CompletableFuture<RaftClientReply> sent;
    try {
      sent = server.submitClientRequestAsync(request);
    } catch (IOException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    var unused =
        sent.whenComplete(
            (reply, error) -> {
              if (transportFailure(reply, error) && System.nanoTime() < deadlineNanos) {
                CompletableFuture.delayedExecutor(READ_RETRY_PAUSE_MS, TimeUnit.MILLISECONDS)
                    .execute(() -> readAttempt(scopeId, req, deadlineNanos, out));
                return;
              }
              try {
                GroupReply r = toGroupReply(scopeId, reply, error);
                if (r.getRepliesCount() > 0 && r.getReplies(0).hasRefused()) {
                  out.completeExceptionally(
                      RefusedException.toException(r.getReplies(0).getRefused()));
                } else {
                  out.complete(r.getLookup());
                }
              } catch (RuntimeException e) {
                out.completeExceptionally(e);
              }
            });
  }

  /**
   * What went wrong with a Ratis call: its error unwrapped, or the reply's exception; else null.
   */
  private static @Nullable Throwable failureOf(
      @Nullable RaftClientReply reply, @Nullable Throwable error) {
    Throwable t = error;
    while (t instanceof CompletionException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t == null && reply != null && !reply.isSuccess()) {
      t = reply.getException();
    }
    return t;
  }

  /** A failure to reach the leader (worth retrying), not an answer of the group. */
  private static boolean transportFailure(
      @Nullable RaftClientReply reply, @Nullable Throwable error) {
    Throwable t = failureOf(reply, error);
    return t != null
        && !(t instanceof StateMachineException)
        && !(t instanceof GroupMismatchException);
  }

  /**
   * Turns a Ratis reply or error into a {@link GroupReply}; refusals become {@code refused}, and
   * transport failures an UNAVAILABLE refusal.
   */
  private GroupReply toGroupReply(
      long scopeId, @Nullable RaftClientReply reply, @Nullable Throwable error) {
    Throwable t = failureOf(reply, error);
    if (t == null && reply != null) {
      try {
        return GroupReply.parseFrom(reply.getMessage().getContent().toByteArray());
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        t = e;
      }
    }
    if (t instanceof StateMachineException sme) {
      Throwable cause = sme.getCause();
      String msg =
          cause != null ? String.valueOf(cause.getMessage()) : String.valueOf(sme.getMessage());
      return refusedReply(RefusedException.decode(msg));
    }
    if (t instanceof GroupMismatchException) {
      return refusedReply(
          RefusedException.refusal(
              new AnfException(
                  ErrorCode.UNKNOWN_SCOPE,
                  "scope " + ScopeIds.text(scopeId) + " has no group on the anchor asked")));
    }
    AnfException u = unavailable(scopeId, t);
    return refusedReply(RefusedException.refusal(u));
  }

  private static GroupReply refusedReply(Refusal r) {
    return GroupReply.newBuilder().addReplies(MutationReply.newBuilder().setRefused(r)).build();
  }

  private static AnfException unavailable(long scopeId, @Nullable Throwable t) {
    String why = t == null ? "no reply" : t.getClass().getSimpleName() + ": " + t.getMessage();
    return new AnfException(
        ErrorCode.UNAVAILABLE,
        "scope "
            + ScopeIds.text(scopeId)
            + " did not commit in time (no quorum reachable?): "
            + why,
        t);
  }

  /** Creates the group on each of its anchors; idempotent (an existing group is kept). */
  public void createGroup(long scopeId, AnchorMap anchors) {
    RaftGroup g = group(scopeId, anchors);
    try (RaftClient admin = newClient(g)) {
      for (RaftPeer p : g.getPeers()) {
        addOn(admin, p.getId(), g);
      }
    } catch (IOException e) {
      throw new AnfException(ErrorCode.INTERNAL, "closing admin client: " + e.getMessage(), e);
    }
  }

  private static void addOn(RaftClient admin, RaftPeerId peer, RaftGroup g) {
    try {
      RaftClientReply r = admin.getGroupManagementApi(peer).add(g, false);
      if (!r.isSuccess() && r.getException() != null) {
        throw r.getException();
      }
    } catch (org.apache.ratis.protocol.exceptions.AlreadyExistsException e) {
      // Already hosted (a retry): fine.
    } catch (IOException e) {
      if (String.valueOf(e.getMessage()).contains("already exists")) {
        return;
      }
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "cannot create group of scope "
              + ScopeIds.text(scopeOfOrZero(g.getGroupId()))
              + " on anchor "
              + peer
              + ": "
              + rootCause(e),
          e);
    }
  }

  /** The message of the innermost cause, where transport errors say what really failed. */
  static String rootCause(Throwable t) {
    Throwable c = t;
    int depth = 0;
    while (c.getCause() != null && c.getCause() != c && depth++ < 10) {
      c = c.getCause();
    }
    return c == t
        ? String.valueOf(t.getMessage())
        : t.getClass().getSimpleName()
            + ", caused by "
            + c.getClass().getSimpleName()
            + ": "
            + c.getMessage();
  }

  private static long scopeOfOrZero(RaftGroupId gid) {
    Long s = scopeOf(gid);
    return s == null ? 0 : s;
  }

  /**
   * Waits until the group has a leader that applied its start-up entry (or the deadline passes).
   */
  public void awaitLeader(long scopeId, long timeoutMs) {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
    while (System.nanoTime() < deadline) {
      try {
        RaftServer.Division d = server.getDivision(groupId(scopeId));
        RaftPeerId leader = d.getInfo().getLeaderId();
        if (leader != null && (!leader.equals(server.getId()) || d.getInfo().isLeaderReady())) {
          return;
        }
      } catch (IOException e) {
        // Not created here yet.
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Adds an anchor: the group on the new peer first, then the Raft configuration change. */
  public void addPeer(long scopeId, AnchorInfo anchor) {
    RaftServer.Division d = division(scopeId);
    RaftGroup current = d.getGroup();
    RaftPeer fresh = peer(anchor);
    List<RaftPeer> peers = new ArrayList<>(current.getPeers());
    peers.add(fresh);
    RaftGroup grown = RaftGroup.valueOf(current.getGroupId(), peers);
    try (RaftClient admin = newClient(grown)) {
      addOn(admin, fresh.getId(), grown);
      RaftClientReply r =
          admin
              .admin()
              .setConfiguration(
                  SetConfigurationRequest.Arguments.newBuilder()
                      .setServersInNewConf(List.of(fresh))
                      .setMode(SetConfigurationRequest.Mode.ADD)
                      .build());
      check(r, scopeId, "add anchor " + anchor.getId());
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "adding anchor " + anchor.getId() + " failed: " + e.getMessage(),
          e);
    } finally {
      invalidate(scopeId);
    }
  }

  /** Removes an anchor: the configuration change, then the group on that peer. */
  public void removePeer(long scopeId, String anchorId) {
    RaftServer.Division d = division(scopeId);
    RaftGroup current = d.getGroup();
    List<RaftPeer> remaining = new ArrayList<>();
    RaftPeer removed = null;
    for (RaftPeer p : current.getPeers()) {
      if (p.getId().toString().equals(anchorId)) {
        removed = p;
      } else {
        remaining.add(p);
      }
    }
    if (removed == null) {
      throw new AnfException(ErrorCode.NOT_FOUND, "anchor '" + anchorId + "' is not in the group");
    }
    try (RaftClient admin = newClient(current)) {
      RaftClientReply r =
          admin
              .admin()
              .setConfiguration(
                  SetConfigurationRequest.Arguments.newBuilder()
                      .setServersInNewConf(remaining)
                      .setMode(SetConfigurationRequest.Mode.SET_UNCONDITIONALLY)
                      .build());
      check(r, scopeId, "remove anchor " + anchorId);
      try {
        admin.getGroupManagementApi(removed.getId()).remove(groupId(scopeId), true, false);
      } catch (IOException e) {
        LOG.warn(
            "scope {}: anchor {} left the configuration but its group was not removed: {}",
            ScopeIds.text(scopeId),
            anchorId,
            e.getMessage());
      }
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE, "removing anchor " + anchorId + " failed: " + e.getMessage(), e);
    } finally {
      invalidate(scopeId);
    }
  }

  /** Whether this node's replica of the scope knows a leader now. */
  public boolean hasLeader(long scopeId) {
    try {
      return server.getDivision(groupId(scopeId)).getInfo().getLeaderId() != null;
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether any other anchor of the scope's group still hosts it, as far as can be told: an anchor
   * that cannot be asked counts as hosting it, so only a unanimous "no such group" says no.
   */
  public boolean othersHost(long scopeId) {
    RaftGroup g;
    try {
      g = server.getDivision(groupId(scopeId)).getGroup();
    } catch (IOException e) {
      return false;
    }
    // A bounded client: an anchor that cannot be reached must not hold the caller up.
    try (RaftClient admin =
        newClient(
            g,
            RetryPolicies.retryUpToMaximumCountWithFixedSleep(
                2, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))) {
      for (RaftPeer p : g.getPeers()) {
        if (p.getId().equals(server.getId())) {
          continue;
        }
        try {
          if (admin
              .getGroupManagementApi(p.getId())
              .list()
              .getGroupIds()
              .contains(groupId(scopeId))) {
            return true;
          }
        } catch (IOException e) {
          return true;
        }
      }
    } catch (IOException e) {
      LOG.debug("closing admin client", e);
    }
    return false;
  }

  /** Removes this node's copy of a group (after a merge dissolved the scope). */
  public void removeLocal(long scopeId, boolean deleteDirectory) {
    invalidate(scopeId);
    try (RaftClient admin = newClient(division(scopeId).getGroup())) {
      admin.getGroupManagementApi(server.getId()).remove(groupId(scopeId), deleteDirectory, false);
    } catch (IOException e) {
      throw new AnfException(ErrorCode.INTERNAL, "removing group: " + e.getMessage(), e);
    }
  }

  /**
   * Removes a scope's group from every anchor that can be reached (after a merge sealed it, or an
   * aborted split left it unused). An anchor that is down keeps its copy until it dissolves it
   * itself on restart. Returns how many anchors removed it.
   */
  public int dissolve(long scopeId) {
    RaftGroup g;
    try {
      g = server.getDivision(groupId(scopeId)).getGroup();
    } catch (IOException e) {
      return 0;
    }
    invalidate(scopeId);
    int removed = 0;
    try (RaftClient admin = newClient(g)) {
      for (RaftPeer p : g.getPeers()) {
        try {
          admin.getGroupManagementApi(p.getId()).remove(groupId(scopeId), true, false);
          removed++;
        } catch (IOException e) {
          LOG.warn(
              "scope {}: anchor {} did not dissolve its group now: {}",
              ScopeIds.text(scopeId),
              p.getId(),
              rootCause(e));
        }
      }
    } catch (IOException e) {
      LOG.debug("closing admin client", e);
    }
    batchers.remove(scopeId);
    return removed;
  }

  /** Takes a snapshot of the scope on this node; returns its index. */
  public long snapshot(long scopeId, long timeoutMs) {
    RaftServer.Division d = division(scopeId);
    try (RaftClient admin = newClient(d.getGroup());
        var sync = ((ScopeStateMachine) d.getStateMachine()).holdSynchronousSnapshots()) {
      RaftClientReply r = admin.getSnapshotManagementApi(server.getId()).create(true, timeoutMs);
      check(r, scopeId, "snapshot");
      return r.getLogIndex();
    } catch (IOException e) {
      throw new AnfException(ErrorCode.UNAVAILABLE, "snapshot failed: " + e.getMessage(), e);
    }
  }

  private static void check(RaftClientReply r, long scopeId, String what) {
    if (!r.isSuccess()) {
      RaftException e = r.getException();
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          what
              + " in scope "
              + ScopeIds.text(scopeId)
              + " failed: "
              + (e == null ? "unknown" : e.getMessage()));
    }
  }

  private static void closeQuietly(RaftClient c) {
    try {
      c.close();
    } catch (IOException e) {
      LOG.debug("closing client", e);
    }
  }

  @Override
  public void close() {
    clients.values().forEach(ScopeGroups::closeQuietly);
    clients.clear();
  }
}
