package org.anf.sim.workload;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.TxnPhase;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.jspecify.annotations.Nullable;

/**
 * Runs the workload: one thread per simulated client, each drawing its operations from its own
 * stream of the run's seed and pacing itself to its share of the rate.
 *
 * <p>Names come in families under a few group labels of each top-level scope: a client binds {@code
 * s1@g2/c2f7}, may rename it ({@code s1@g2/c2f7-r1}), move it within its scope ({@code
 * s1@g2/mv/c2f7-m2}) or to another scope ({@code s0@g0/c2f7-x3}), and may unbind it. Only the
 * owning client mutates a family, one operation at a time, and never again after an indeterminate
 * outcome, so each family's history is a sequence the checkers can model exactly. Any client
 * resolves any name of any family. Any client may also split a group out of its scope into a child
 * scope ({@code s1@g2}) or merge such a child back, one structural change at a time in the whole
 * fabric: these change which group governs a name, never what the name answers.
 */
public final class WorkloadDriver {
  /** Group labels under each top-level scope, the units that split and merge. */
  public static final int GROUPS = 3;

  /** A top-level scope the workload writes to: its label, id, anchors and anchor map. */
  public record Target(String name, long id, List<String> anchors, AnchorMap anchorMap) {}

  /** The names of a family, as they were introduced (readable by every client). */
  record Names(String family, List<String> names) {}

  private enum State {
    BOUND,
    DONE
  }

  private static final class Family {
    final String id;
    final Names names;
    String current;
    State state = State.BOUND;

    Family(String id, Names names, String current) {
      this.id = id;
      this.names = names;
      this.current = current;
    }
  }

  private final Workload workload;
  private final long seed;
  private final List<Target> targets;
  private final History history;
  private final Function<Mutation, SignedMutation> signer;
  private final Policy childPolicy;
  private final List<Names> all = new CopyOnWriteArrayList<>();
  private final Set<String> splitGroups = ConcurrentHashMap.newKeySet();
  private final AtomicBoolean structural = new AtomicBoolean();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();

  /**
   * @param childPolicy the policy of the child scopes splits create
   */
  public WorkloadDriver(
      Workload workload,
      long seed,
      List<Target> targets,
      History history,
      Function<Mutation, SignedMutation> signer,
      Policy childPolicy) {
    this.workload = workload;
    this.seed = seed;
    this.targets = targets;
    this.history = history;
    this.signer = signer;
    this.childPolicy = childPolicy;
  }

  /** Starts every client on its thread; {@link #stop} ends them. */
  public void start(List<SimClient> clients) {
    for (int i = 0; i < clients.size(); i++) {
      SimClient c = clients.get(i);
      SplittableRandom r = new SplittableRandom(seed * 1_000_003L + i);
      Thread t = new Thread(() -> loop(c, r), "sim-" + c.id());
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Asks every client to stop and waits for the operations in flight. */
  public void stop() {
    stop.set(true);
    long wait = SimClient.structureTimeout(workload.opTimeoutMs()).toMillis() + 10_000;
    for (Thread t : threads) {
      try {
        t.join(wait);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  private void loop(SimClient c, SplittableRandom r) {
    MutationFactory factory =
        new MutationFactory(new Random(r.nextLong()), System::currentTimeMillis);
    List<Family> mine = new ArrayList<>();
    long intervalNanos = (long) (1e9 * workload.clients() / workload.opsPerSecond());
    long next = System.nanoTime() + (long) (r.nextDouble() * intervalNanos);
    int made = 0;
    while (!stop.get()) {
      long wait = next - System.nanoTime();
      if (wait > 0) {
        try {
          TimeUnit.NANOSECONDS.sleep(wait);
        } catch (InterruptedException e) {
          return;
        }
      } else if (-wait > intervalNanos) {
        next = System.nanoTime();
      }
      next += intervalNanos;
      if (stop.get()) {
        return;
      }
      String kind = workload.pick(r);
      List<Family> live = new ArrayList<>();
      for (Family f : mine) {
        if (f.state == State.BOUND) {
          live.add(f);
        }
      }
      if (kind.equals("resolve") && all.isEmpty()) {
        kind = "bind";
      }
      boolean familyWrite =
          !kind.equals("bind")
              && !kind.equals("resolve")
              && !kind.equals("split")
              && !kind.equals("merge");
      if (familyWrite && live.isEmpty()) {
        kind = "bind";
      }
      switch (kind) {
        case "bind" -> mine.add(bind(c, r, factory, ++made));
        case "rename", "move", "xmove" -> {
          Family f = live.get(r.nextInt(live.size()));
          int k = f.names.names().size();
          Alias cur = Alias.parse(f.current);
          String to =
              switch (kind) {
                case "rename" -> cur.prefix(cur.size() - 1).text() + "/" + f.id + "-r" + k;
                case "move" -> cur.prefix(2).text() + "/mv/" + f.id + "-m" + k;
                default -> xmoveTarget(r, cur, f.id + "-x" + k);
              };
          write(c, factory, f, kind.equals("rename") ? Op.Kind.RENAME : Op.Kind.MOVE, to);
        }
        case "unbind" -> write(c, factory, live.get(r.nextInt(live.size())), Op.Kind.UNBIND, null);
        case "split", "merge" -> {
          if (!structure(c, r, factory, kind.equals("split")) && !all.isEmpty()) {
            resolve(c, r);
          }
        }
        default -> resolve(c, r);
      }
    }
  }

  private static String group(SplittableRandom r) {
    return "g" + r.nextInt(GROUPS);
  }

  /**
   * Where a cross-scope move goes: a group of another top-level scope that shares an anchor with
   * this one (the coordinator must anchor both), or with one scope another group of it (which is
   * another scope when exactly one of the two is split out).
   */
  private String xmoveTarget(SplittableRandom r, Alias current, String label) {
    int from = topIndex(current.text());
    List<Integer> others = new ArrayList<>();
    for (int j = 0; j < targets.size(); j++) {
      if (j != from && !coordinators(targets.get(from), targets.get(j)).isEmpty()) {
        others.add(j);
      }
    }
    if (others.isEmpty()) {
      String g = current.label(1);
      String other = g;
      while (other.equals(g)) {
        other = group(r);
      }
      return targets.get(from).name() + "@" + other + "/" + label;
    }
    Target t = targets.get(others.get(r.nextInt(others.size())));
    return t.name() + "@" + group(r) + "/" + label;
  }

  private int topIndex(String alias) {
    String top = Alias.parse(alias).label(0);
    for (int j = 0; j < targets.size(); j++) {
      if (targets.get(j).name().equals(top)) {
        return j;
      }
    }
    throw new IllegalStateException("no top-level scope for " + alias);
  }

  /** Anchors of both scopes, which may coordinate a transaction between them. */
  static List<String> coordinators(Target a, Target b) {
    List<String> out = new ArrayList<>(a.anchors());
    out.retainAll(b.anchors());
    return out;
  }

  /** The scope governing {@code alias}: as one of its top scope's anchors sees it, else the top. */
  private SimClient.Located locate(SimClient c, String alias) {
    Target t = targets.get(topIndex(alias));
    SimClient.Located l = c.locate(alias, t.id(), t.name(), t.anchors());
    if (l == null) {
      return new SimClient.Located(t.id(), t.name());
    }
    Alias a = Alias.parse(alias);
    if (a.size() >= 2) {
      String g = a.prefix(2).text();
      if (l.scopeId() != t.id()) {
        splitGroups.add(g);
      } else {
        splitGroups.remove(g);
      }
    }
    return l;
  }

  private Family bind(SimClient c, SplittableRandom r, MutationFactory factory, int n) {
    Target t = targets.get(r.nextInt(targets.size()));
    String id = c.id() + "f" + n;
    String alias = t.name() + "@" + group(r) + "/" + id;
    Names names = new Names(id, new CopyOnWriteArrayList<>(List.of(alias)));
    all.add(names);
    Family f = new Family(id, names, alias);
    ObjectRecord rec =
        ObjectRecord.newBuilder()
            .addEndpoints(
                Endpoint.newBuilder()
                    .setHost("10.0." + r.nextInt(256) + "." + r.nextInt(256))
                    .setPort(1024 + r.nextInt(60000)))
            .build();
    SimClient.Located at = locate(c, alias);
    Mutation m = factory.bind(at.scopeId(), Alias.parse(alias), rec);
    long inv = history.nowUs();
    SimClient.WriteResult w = c.submit(signer.apply(m), t.anchors());
    record(c, f, Op.Kind.BIND, alias, null, m, at, inv, w);
    return f;
  }

  private void write(
      SimClient c, MutationFactory factory, Family f, Op.Kind kind, @Nullable String to) {
    Target src = targets.get(topIndex(f.current));
    SimClient.Located at = locate(c, f.current);
    if (to != null) {
      f.names.names().add(to);
    }
    if (kind == Op.Kind.MOVE && to != null) {
      Target dst = targets.get(topIndex(to));
      SimClient.Located there = locate(c, to);
      if (there.scopeId() != at.scopeId()) {
        xmove(c, factory, f, to, src, at, dst, there);
        return;
      }
    }
    Mutation m =
        switch (kind) {
          case RENAME -> factory.rename(at.scopeId(), Alias.parse(f.current), Alias.parse(req(to)));
          case MOVE ->
              factory.moveLocal(at.scopeId(), Alias.parse(f.current), Alias.parse(req(to)));
          case UNBIND -> factory.unbind(at.scopeId(), Alias.parse(f.current));
          default -> throw new IllegalStateException("not a family write: " + kind);
        };
    long inv = history.nowUs();
    SimClient.WriteResult w = c.submit(signer.apply(m), src.anchors());
    record(c, f, kind, f.current, to, m, at, inv, w);
  }

  /** A move to another scope: the structural protocol, coordinated by an anchor of both. */
  private void xmove(
      SimClient c,
      MutationFactory factory,
      Family f,
      String to,
      Target src,
      SimClient.Located at,
      Target dst,
      SimClient.Located there) {
    Mutation m =
        factory
            .base(at.scopeId())
            .setMutationId(factory.randomBytes(16))
            .setMove(
                Move.newBuilder()
                    .setFrom(Alias.parse(f.current).toProto())
                    .setTo(Alias.parse(to).toProto())
                    .setPhase(TxnPhase.TXN_PHASE_PREPARE)
                    .setPeerScopeId(there.scopeId()))
            .build();
    long inv = history.nowUs();
    SimClient.WriteResult w =
        c.structure(
            "move",
            signer.apply(m),
            coordinators(src, dst),
            at.scopeId(),
            SimClient.structureTimeout(workload.opTimeoutMs()).toMillis());
    record(c, f, Op.Kind.XMOVE, f.current, to, m, at, inv, w);
  }

  private static String req(@Nullable String to) {
    if (to == null) {
      throw new IllegalStateException("a rename or move needs a target");
    }
    return to;
  }

  /**
   * Splits a group out of its scope, or merges a split-out group back, if no other structural
   * change is under way and there is a group to change; false if nothing was done.
   */
  private boolean structure(
      SimClient c, SplittableRandom r, MutationFactory factory, boolean split) {
    if (!structural.compareAndSet(false, true)) {
      return false;
    }
    try {
      Target t = targets.get(r.nextInt(targets.size()));
      List<String> candidates = new ArrayList<>();
      for (int k = 0; k < GROUPS; k++) {
        String g = t.name() + "@g" + k;
        if (splitGroups.contains(g) != split) {
          candidates.add(g);
        }
      }
      if (candidates.isEmpty()) {
        return false;
      }
      String group = candidates.get(r.nextInt(candidates.size()));
      SimClient.Located at = locate(c, group + "/probe");
      boolean isChild = at.scopeId() != t.id();
      if (isChild == split) {
        return false;
      }
      Alias parent = Alias.parse(t.name());
      String label = Alias.parse(group).label(1);
      Mutation m;
      if (split) {
        ByteString txn = factory.randomBytes(16);
        m =
            factory
                .split(
                    t.id(),
                    TxnPhase.TXN_PHASE_LOCAL,
                    txn,
                    List.of(factory.splitChild(t.id(), parent, label, t.anchorMap(), childPolicy)))
                .toBuilder()
                .setMutationId(txn)
                .build();
      } else {
        m =
            factory
                .base(t.id())
                .setMutationId(factory.randomBytes(16))
                .setMerge(
                    Merge.newBuilder()
                        .setChildScopeId(at.scopeId())
                        .setChild(Alias.parse(group).toProto())
                        .setPhase(TxnPhase.TXN_PHASE_PREPARE))
                .build();
      }
      long inv = history.nowUs();
      SimClient.WriteResult w =
          c.structure(
              split ? "split" : "merge",
              signer.apply(m),
              t.anchors(),
              t.id(),
              SimClient.structureTimeout(workload.opTimeoutMs()).toMillis());
      long done = history.nowUs();
      if (w.outcome() == Op.Outcome.OK) {
        if (split) {
          splitGroups.add(group);
        } else {
          splitGroups.remove(group);
        }
      }
      history.add(
          new Op(
              history.nextId(),
              c.id(),
              split ? Op.Kind.SPLIT : Op.Kind.MERGE,
              "",
              split ? t.name() : group,
              split ? group : t.name(),
              t.name(),
              ScopeIds.text(t.id()),
              w.seq(),
              inv,
              done,
              w.outcome(),
              null,
              null,
              false,
              0,
              "",
              0,
              w.via(),
              HexFormat.of().formatHex(m.getMutationId().toByteArray()),
              w.detail()));
      return true;
    } finally {
      structural.set(false);
    }
  }

  private void record(
      SimClient c,
      Family f,
      Op.Kind kind,
      String alias,
      @Nullable String to,
      Mutation m,
      SimClient.Located at,
      long inv,
      SimClient.WriteResult w) {
    long done = history.nowUs();
    history.add(
        new Op(
            history.nextId(),
            c.id(),
            kind,
            f.id,
            alias,
            to,
            at.path(),
            ScopeIds.text(at.scopeId()),
            w.seq(),
            inv,
            done,
            w.outcome(),
            w.uid(),
            null,
            false,
            0,
            "",
            0,
            w.via(),
            HexFormat.of().formatHex(m.getMutationId().toByteArray()),
            w.detail()));
    switch (w.outcome()) {
      case OK -> {
        if (kind == Op.Kind.UNBIND) {
          f.state = State.DONE;
        } else if (to != null) {
          f.current = to;
        }
      }
      case REFUSED -> {
        if (kind == Op.Kind.BIND) {
          f.state = State.DONE;
        }
      }
      case INDETERMINATE -> f.state = State.DONE;
    }
  }

  private void resolve(SimClient c, SplittableRandom r) {
    Names n = all.get(r.nextInt(all.size()));
    String alias = n.names().get(r.nextInt(n.names().size()));
    int p = r.nextInt(10);
    Consistency consistency;
    int bound;
    if (p < 3) {
      consistency = Consistency.CONSISTENCY_LINEARIZABLE;
      bound = 0;
    } else if (p < 7) {
      consistency = Consistency.CONSISTENCY_BOUNDED;
      bound = 1000;
    } else {
      consistency = Consistency.CONSISTENCY_ANY;
      bound = 2000;
    }
    long inv = history.nowUs();
    SimClient.Answer a = c.resolve(alias, consistency, bound);
    long done = history.nowUs();
    history.add(
        new Op(
            history.nextId(),
            c.id(),
            Op.Kind.RESOLVE,
            n.family(),
            alias,
            null,
            Alias.parse(alias).label(0),
            "",
            0,
            inv,
            done,
            a.outcome(),
            a.uid(),
            a.status(),
            a.stale(),
            a.ageMs(),
            consistency.name().substring("CONSISTENCY_".length()),
            bound,
            a.via(),
            null,
            a.detail()));
  }
}
