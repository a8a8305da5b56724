package org.anf.sim.runner;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.dev.DevFabric;
import org.anf.anchor.faults.RaftLinkInterceptor;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateDigest;
import org.anf.proto.v1.AdminServiceGrpc;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.OpenTransaction;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.StatusRequest;
import org.anf.sim.faults.Links;
import org.anf.sim.faults.Mutant;
import org.anf.sim.faults.ServiceLinkInterceptor;
import org.anf.sim.workload.SimClient;
import org.jspecify.annotations.Nullable;

/**
 * A whole fabric in this JVM for a simulation run: N real anchor nodes (Ratis over mutual TLS,
 * RocksDB, gRPC on loopback, data in a temporary directory), scopes {@code s0}, {@code s1}... under
 * the root, and the link table every anchor's interceptors consult. With five or more anchors each
 * scope is governed by three of them (scope j by anchors j, j+1, j+2), so a whole scope can be cut
 * off; with fewer, every anchor governs every scope. Scopes split out of these at run time are
 * found on the anchors themselves ({@link #allScopes}).
 */
public final class SimFabric implements AutoCloseable {
  /** A top-level scope of the run: its label ({@code s0}), id, anchors and anchor map. */
  public record Scope(int index, String name, long id, List<String> anchors, AnchorMap anchorMap) {}

  /** Any scope the anchors host now: its path (empty for the root), id and anchors. */
  public record Hosted(String path, long id, List<String> anchors) {
    public String label() {
      return path.isEmpty() ? "(root)" : path;
    }
  }

  /** One replica's view of a scope: lineage head and state digest. */
  public record Replica(String anchor, long headSeq, String headHash, String digest) {}

  private final Path dir;
  private final boolean deleteDir;
  private final Mutant mutant;
  private final Links links = new Links();
  private final List<String> anchorIds = new ArrayList<>();
  private final Map<String, String> addresses = new LinkedHashMap<>();
  private final Map<String, ManagedChannel> admin = new ConcurrentHashMap<>();
  private final List<Scope> scopes = new ArrayList<>();
  private final Set<String> down = ConcurrentHashMap.newKeySet();
  private final Map<String, ServiceLinkInterceptor> serviceLinks = new ConcurrentHashMap<>();
  private final DevFabric fabric;

  private SimFabric(Path dir, boolean deleteDir, int anchors, int scopeCount, Mutant mutant) {
    this.dir = dir;
    this.deleteDir = deleteDir;
    this.mutant = mutant;
    for (int i = 0; i < anchors; i++) {
      anchorIds.add(DevFabric.nodeId(i));
    }
    DevFabric.Options o = DevFabric.Options.ephemeral(dir, anchors);
    DevFabric.Options opts =
        new DevFabric.Options(
            o.dataDir(), o.host(), o.ports(), o.raftPorts(), o.metricsPorts(), 10_000, List.of());
    this.fabric = DevFabric.start(opts, this::hooks);
    boolean ok = false;
    try {
      for (AnchorNode n : fabric.nodes()) {
        addresses.put(n.nodeId(), n.address());
      }
      for (int j = 0; j < scopeCount; j++) {
        List<Integer> members = new ArrayList<>();
        if (anchors >= 5) {
          for (int k = 0; k < 3; k++) {
            members.add((j + k) % anchors);
          }
        } else {
          for (int k = 0; k < anchors; k++) {
            members.add(k);
          }
        }
        String name = "s" + j;
        long id = fabric.createChild(fabric.root(), Alias.parse(name), members);
        List<String> ids = new ArrayList<>();
        members.forEach(m -> ids.add(anchorIds.get(m)));
        ScopeStateMachine sm = awaitHosted(ids.get(0), id);
        AnchorMap map = sm.store().read(() -> sm.state().meta().getAnchors());
        scopes.add(new Scope(j, name, id, List.copyOf(ids), map));
      }
      for (Scope s : scopes) {
        for (String a : s.anchors()) {
          node(a).groups().awaitLeader(s.id(), 30_000);
        }
      }
      ok = true;
    } finally {
      if (!ok) {
        close();
      }
    }
  }

  /** Starts a fabric in {@code dir} (deleted on close when {@code deleteDir}). */
  public static SimFabric start(Path dir, boolean deleteDir, int anchors, int scopes) {
    return start(dir, deleteDir, anchors, scopes, Mutant.NONE);
  }

  /** Starts a fabric whose anchors carry {@code mutant}'s bug. */
  public static SimFabric start(
      Path dir, boolean deleteDir, int anchors, int scopes, Mutant mutant) {
    if (anchors < 1 || scopes < 1) {
      throw new IllegalArgumentException("a fabric needs at least one anchor and one scope");
    }
    return new SimFabric(dir, deleteDir, anchors, scopes, mutant);
  }

  private ScopeStateMachine awaitHosted(String anchor, long scope) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      ScopeStateMachine sm = node(anchor).scope(scope);
      if (sm != null && sm.store().read(() -> sm.state().exists())) {
        return sm;
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "scope " + ScopeIds.text(scope) + " never appeared on " + anchor);
      }
      pause(20);
    }
  }

  /** The seams of anchor i: link faults on its Ratis server and its services, and the mutant. */
  private AnchorNode.Hooks hooks(int i) {
    String self = DevFabric.nodeId(i);
    ServiceLinkInterceptor services =
        new ServiceLinkInterceptor(self, links, List.copyOf(anchorIds));
    serviceLinks.put(self, services);
    ServerInterceptor bug = mutant.interceptor();
    return RaftLinkInterceptor.hooks(self, links, bug == null ? services : chain(services, bug));
  }

  /** Calls pass {@code outer} (the links) first, then {@code inner} (the anchor's behaviour). */
  static ServerInterceptor chain(ServerInterceptor outer, ServerInterceptor inner) {
    return new ServerInterceptor() {
      @Override
      public <Q, R> ServerCall.Listener<Q> interceptCall(
          ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
        return outer.interceptCall(call, headers, (c, h) -> inner.interceptCall(c, h, next));
      }
    };
  }

  public Mutant mutant() {
    return mutant;
  }

  public Links links() {
    return links;
  }

  public List<String> anchors() {
    return anchorIds;
  }

  public List<Scope> scopes() {
    return scopes;
  }

  public Scope scope(String name) {
    for (Scope s : scopes) {
      if (s.name().equals(name)) {
        return s;
      }
    }
    throw new IllegalArgumentException("no scope '" + name + "' in this fabric");
  }

  public Path dataDir() {
    return dir;
  }

  public org.anf.lineage.crypto.KeyPair admin() {
    return fabric.admin();
  }

  private AnchorNode node(String anchor) {
    return fabric.nodes().get(index(anchor));
  }

  public int index(String anchor) {
    int i = anchorIds.indexOf(anchor);
    if (i < 0) {
      throw new IllegalArgumentException("no anchor '" + anchor + "' (have " + anchorIds + ")");
    }
    return i;
  }

  public boolean isDown(String anchor) {
    return down.contains(anchor);
  }

  public Set<String> downAnchors() {
    return Set.copyOf(down);
  }

  /**
   * Stops an anchor as a crash would (its data dir stays); idempotent. Clients' calls to it end at
   * once, as with a process that died, before the node stops.
   */
  public void crash(String anchor) {
    if (down.add(anchor)) {
      ServiceLinkInterceptor s = serviceLinks.get(anchor);
      if (s != null) {
        s.crash();
      }
      fabric.stop(index(anchor));
    }
  }

  /** Restarts a crashed anchor from its data dir, on the same ports; idempotent. */
  public void restart(String anchor) {
    if (down.contains(anchor)) {
      int i = index(anchor);
      fabric.restart(i, hooks(i));
      down.remove(anchor);
    }
  }

  /** A named simulated client preferring anchors from {@code first} on. */
  public SimClient client(String id, int first, long opTimeoutMs) {
    return client(id, first, opTimeoutMs, null);
  }

  /** The same, with its resolver's hedge delay set (null: the resolver's default). */
  public SimClient client(String id, int first, long opTimeoutMs, @Nullable Duration hedgeDelay) {
    Map<String, String> order = new LinkedHashMap<>();
    for (int k = 0; k < anchorIds.size(); k++) {
      String a = anchorIds.get((first + k) % anchorIds.size());
      order.put(a, addresses.get(a));
    }
    return new SimClient(id, order, true, opTimeoutMs, hedgeDelay);
  }

  /**
   * The checker's client: unnamed, so link faults never apply to it, with a resolver of its own
   * that talks to the anchors directly. A mutant in the anchors shows in its read-back too.
   */
  public SimClient observer() {
    return new SimClient(Links.OBSERVER, addresses, false, 15_000);
  }

  /** Every scope some live anchor hosts now (with genesis), root first, then by path. */
  public List<Hosted> allScopes() {
    Map<String, Hosted> byPath = new TreeMap<>();
    for (String a : anchorIds) {
      if (down.contains(a)) {
        continue;
      }
      for (ScopeStateMachine sm : List.copyOf(node(a).registry().all().values())) {
        ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
        if (meta == null || meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_SEALED) {
          continue;
        }
        String path = Alias.fromProto(meta.getPath()).text();
        List<String> ids = new ArrayList<>();
        for (AnchorInfo ai : meta.getAnchors().getAnchorsList()) {
          ids.add(ai.getId());
        }
        byPath.putIfAbsent(
            path + "#" + ScopeIds.text(sm.scopeId()), new Hosted(path, sm.scopeId(), ids));
      }
    }
    return new ArrayList<>(byPath.values());
  }

  /** Each live replica's head and digest of a scope. */
  public List<Replica> replicas(Hosted s) {
    List<Replica> out = new ArrayList<>();
    HexFormat hex = HexFormat.of();
    for (String a : s.anchors()) {
      if (down.contains(a) || !anchorIds.contains(a)) {
        continue;
      }
      ScopeStateMachine sm = node(a).scope(s.id());
      if (sm == null) {
        out.add(new Replica(a, -1, "", "not hosted"));
        continue;
      }
      out.add(
          sm.store()
              .read(
                  () -> {
                    ScopeState st = sm.state();
                    if (!st.exists()) {
                      return new Replica(a, 0, "", "no genesis");
                    }
                    return new Replica(
                        a,
                        st.headSeq(),
                        hex.formatHex(st.headHash()),
                        hex.formatHex(StateDigest.of(st.kv())));
                  }));
    }
    return out;
  }

  /** A replica's retained lineage of a scope, oldest first. */
  public List<LineageEntry> lineage(Hosted s, String anchor) {
    ScopeStateMachine sm = node(anchor).scope(s.id());
    if (sm == null) {
      return List.of();
    }
    long first = sm.firstRetainedSeq();
    return sm.store()
        .read(
            () -> {
              ScopeState st = sm.state();
              List<LineageEntry> out = new ArrayList<>();
              for (long seq = Math.max(1, first); seq <= st.headSeq(); seq++) {
                LineageEntry e = st.lineage(seq);
                if (e != null) {
                  out.add(e);
                }
              }
              return out;
            });
  }

  /** Whether every live replica of every scope has the same head and digest. */
  public boolean converged() {
    for (Hosted s : allScopes()) {
      if (!converged(replicas(s))) {
        return false;
      }
    }
    return true;
  }

  static boolean converged(List<Replica> rs) {
    return rs.stream()
            .map(r -> r.headSeq() + "/" + r.headHash() + "/" + r.digest())
            .distinct()
            .count()
        <= 1;
  }

  /** Why the fabric has not settled: scopes whose replicas differ, then {@link #unsettled}. */
  public List<String> whyNotSettled() {
    List<String> out = new ArrayList<>();
    for (Hosted s : allScopes()) {
      List<Replica> rs = replicas(s);
      if (!converged(rs)) {
        StringBuilder sb = new StringBuilder("scope " + s.label() + " differs:");
        for (Replica r : rs) {
          sb.append(' ')
              .append(r.anchor())
              .append(" at seq ")
              .append(r.headSeq())
              .append(r.digest().length() > 12 ? "" : " (" + r.digest() + ")")
              .append(';');
        }
        out.add(sb.toString());
      }
    }
    out.addAll(unsettled());
    return out;
  }

  /**
   * What keeps the fabric from having settled: structural transactions still open, scopes sealed
   * but not yet dissolved. Empty when settled.
   */
  public List<String> unsettled() {
    List<String> out = new ArrayList<>();
    for (String a : anchorIds) {
      if (down.contains(a)) {
        continue;
      }
      AnchorNode n = node(a);
      for (OpenTransaction t : n.coordinator().open()) {
        out.add(
            "transaction "
                + HexFormat.of().formatHex(t.getTxnId().toByteArray()).substring(0, 12)
                + " ("
                + t.getKind().toLowerCase(java.util.Locale.ROOT)
                + ") is still open in scope "
                + ScopeIds.text(t.getScopeId())
                + " on "
                + a
                + " since its seq "
                + t.getOpenedSeq());
      }
      for (ScopeStateMachine sm : List.copyOf(n.registry().all().values())) {
        ScopeMeta meta = sm.store().read(() -> sm.state().metaOrNull());
        if (meta != null && meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_SEALED) {
          out.add(
              "merged scope "
                  + Alias.fromProto(meta.getPath()).text()
                  + " ("
                  + ScopeIds.text(sm.scopeId())
                  + ") is sealed but not dissolved on "
                  + a);
        }
      }
    }
    return out;
  }

  /**
   * Heals every link, restarts crashed anchors, then waits until every group has a leader, the
   * replicas of every scope agree, and no structural transaction is left open; false if that does
   * not happen within {@code timeout}.
   */
  public boolean stabilize(Duration timeout) {
    links.healAll();
    for (String a : List.copyOf(down)) {
      restart(a);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Hosted s : allScopes()) {
      for (String a : s.anchors()) {
        if (anchorIds.contains(a) && !down.contains(a)) {
          long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
          node(a).groups().awaitLeader(s.id(), left);
        }
      }
    }
    while (System.nanoTime() < deadline) {
      if (converged() && unsettled().isEmpty()) {
        return true;
      }
      pause(100);
    }
    return converged() && unsettled().isEmpty();
  }

  /**
   * Waits until, in every scope governed by some of {@code anchors}, one of them leads; false if
   * that does not happen within {@code timeout}. Asked through each anchor's AdminService.Status.
   */
  public boolean awaitLeaderAmong(List<String> anchors, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = true;
      for (Hosted s : allScopes()) {
        if (s.anchors().stream().noneMatch(anchors::contains)) {
          continue;
        }
        boolean led = false;
        for (String a : anchors) {
          if (s.anchors().contains(a) && "LEADER".equals(role(a, s.id()))) {
            led = true;
          }
        }
        all &= led;
      }
      if (all) {
        return true;
      }
      pause(50);
    }
    return false;
  }

  /**
   * Waits until {@code anchor} marks the answers it gives on its own (consistency ANY) stale in
   * every scope it governs, as it does once it notices it is cut off from their leaders; false if
   * that does not happen within {@code timeout}.
   */
  public boolean awaitStale(String anchor, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      boolean all = true;
      for (Hosted s : allScopes()) {
        if (!s.anchors().contains(anchor)) {
          continue;
        }
        Alias path = s.path().isEmpty() ? Alias.ROOT : Alias.parse(s.path());
        LookupRequest req =
            LookupRequest.newBuilder()
                .setScopeId(s.id())
                .setAlias(path.concat(List.of("probe")).toProto())
                .setScopeLabels(path.size())
                .setConsistency(Consistency.CONSISTENCY_ANY)
                .build();
        try {
          all &=
              AnchorServiceGrpc.newBlockingStub(adminChannel(anchor))
                  .withDeadlineAfter(2, TimeUnit.SECONDS)
                  .lookup(req)
                  .getFreshness()
                  .getStale();
        } catch (StatusRuntimeException e) {
          all = false;
        }
      }
      if (all) {
        return true;
      }
      pause(50);
    }
    return false;
  }

  /** An unnamed channel to an anchor (the checker's: no link fault applies to it). */
  private ManagedChannel adminChannel(String anchor) {
    return admin.computeIfAbsent(
        anchor, a -> NettyChannelBuilder.forTarget(addresses.get(a)).usePlaintext().build());
  }

  private @Nullable String role(String anchor, long scope) {
    if (down.contains(anchor)) {
      return null;
    }
    ManagedChannel ch = adminChannel(anchor);
    try {
      List<ScopeStatus> st =
          AdminServiceGrpc.newBlockingStub(ch)
              .withDeadlineAfter(2, TimeUnit.SECONDS)
              .status(StatusRequest.newBuilder().setScopeId(scope).build())
              .getScopesList();
      return st.isEmpty() ? null : st.get(0).getRole();
    } catch (StatusRuntimeException e) {
      return null;
    }
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
    try {
      admin.values().forEach(ManagedChannel::shutdownNow);
      fabric.close();
    } finally {
      links.close();
      if (deleteDir) {
        org.anf.anchor.dev.TempDirs.deleteTree(dir);
      }
    }
  }
}
