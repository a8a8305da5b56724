package org.anf.sim.runner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.dev.DevFabric;
import org.anf.anchor.statemachine.ScopeStateMachine;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateDigest;
import org.anf.proto.v1.LineageEntry;
import org.anf.sim.faults.Links;
import org.anf.sim.faults.RaftLinkInterceptor;
import org.anf.sim.faults.ServiceLinkInterceptor;
import org.anf.sim.workload.Mutant;
import org.anf.sim.workload.SimClient;
import org.jspecify.annotations.Nullable;

/**
 * A whole fabric in this JVM for a simulation run: N real anchor nodes (Ratis over mutual TLS,
 * RocksDB, gRPC on loopback, data in a temporary directory), scopes {@code s0}, {@code s1}... under
 * the root, and the link table every anchor's interceptors consult. With five or more anchors each
 * scope is governed by three of them (scope j by anchors j, j+1, j+2), so a whole scope can be cut
 * off; with fewer, every anchor governs every scope.
 */
public final class SimFabric implements AutoCloseable {
  /** A scope of the run: its label ({@code s0}), id, and the anchors that govern it. */
  public record Scope(int index, String name, long id, List<String> anchors) {}

  /** One replica's view of a scope: lineage head and state digest. */
  public record Replica(String anchor, long headSeq, String headHash, String digest) {}

  private final Path dir;
  private final boolean deleteDir;
  private final Links links = new Links();
  private final List<String> anchorIds = new ArrayList<>();
  private final Map<String, String> addresses = new LinkedHashMap<>();
  private final List<Scope> scopes = new ArrayList<>();
  private final Set<String> down = ConcurrentHashMap.newKeySet();
  private final DevFabric fabric;

  private SimFabric(Path dir, boolean deleteDir, int anchors, int scopeCount) {
    this.dir = dir;
    this.deleteDir = deleteDir;
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
        scopes.add(new Scope(j, name, id, List.copyOf(ids)));
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
    if (anchors < 1 || scopes < 1) {
      throw new IllegalArgumentException("a fabric needs at least one anchor and one scope");
    }
    return new SimFabric(dir, deleteDir, anchors, scopes);
  }

  private AnchorNode.Hooks hooks(int i) {
    String self = DevFabric.nodeId(i);
    return new AnchorNode.Hooks(
        new RaftLinkInterceptor(self, links).customizer(),
        new ServiceLinkInterceptor(self, links, List.copyOf(anchorIds)));
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

  /** Stops an anchor as a crash would (its data dir stays); idempotent. */
  public void crash(String anchor) {
    if (down.add(anchor)) {
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
  public SimClient client(String id, int first, Mutant mutant, long opTimeoutMs) {
    Map<String, String> order = new LinkedHashMap<>();
    for (int k = 0; k < anchorIds.size(); k++) {
      String a = anchorIds.get((first + k) % anchorIds.size());
      order.put(a, addresses.get(a));
    }
    return new SimClient(id, order, true, mutant, opTimeoutMs);
  }

  /**
   * The checker's client: unnamed, so link faults never apply to it. It resolves with the resolver
   * under test, so a resolver mutant shows in the read-back too.
   */
  public SimClient observer(Mutant mutant) {
    return new SimClient(
        Links.OBSERVER,
        addresses,
        false,
        mutant == Mutant.ACK_BEFORE_COMMIT ? Mutant.NONE : mutant,
        15_000);
  }

  /** Each live replica's head and digest of a scope. */
  public List<Replica> replicas(Scope s) {
    List<Replica> out = new ArrayList<>();
    HexFormat hex = HexFormat.of();
    for (String a : s.anchors()) {
      if (down.contains(a)) {
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
  public List<LineageEntry> lineage(Scope s, String anchor) {
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
    for (Scope s : scopes) {
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
        == 1;
  }

  /**
   * Heals every link, restarts crashed anchors, then waits until every group has a leader and the
   * replicas of every scope agree; false if they do not within {@code timeout}.
   */
  public boolean stabilize(Duration timeout) {
    links.healAll();
    for (String a : List.copyOf(down)) {
      restart(a);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    for (Scope s : scopes) {
      for (String a : s.anchors()) {
        long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
        node(a).groups().awaitLeader(s.id(), left);
      }
    }
    while (System.nanoTime() < deadline) {
      if (converged()) {
        return true;
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return converged();
  }

  public @Nullable String leaderOf(Scope s) {
    for (String a : s.anchors()) {
      if (!down.contains(a)) {
        var info = node(a).groups().division(s.id()).getInfo();
        if (info.isLeader()) {
          return a;
        }
      }
    }
    return null;
  }

  @Override
  public void close() {
    try {
      fabric.close();
    } finally {
      links.close();
      if (deleteDir) {
        try (Stream<Path> s = Files.walk(dir)) {
          s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
          // Best effort: a temp dir left behind is reported by nobody but harms nothing.
        }
      }
    }
  }
}
