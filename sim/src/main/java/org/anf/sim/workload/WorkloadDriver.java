package org.anf.sim.workload;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SignedMutation;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.jspecify.annotations.Nullable;

/**
 * Runs the workload: one thread per simulated client, each drawing its operations from its own
 * stream of the run's seed and pacing itself to its share of the rate. Names come in families: a
 * client binds {@code s1@c2f7}, may rename it ({@code s1@c2f7-r1}) or move it ({@code
 * s1@mv/c2f7-m2}) and may unbind it. Only the owning client mutates a family, one operation at a
 * time, and never again after an indeterminate outcome, so each family's history is a sequence the
 * checkers can model exactly. Any client resolves any name of any family.
 */
public final class WorkloadDriver {
  /** A scope the workload writes to: its label, id and anchors. */
  public record Target(String name, long id, List<String> anchors) {}

  /** The names of a family, as they were introduced (readable by every client). */
  record Names(String family, int scope, List<String> names) {}

  private enum State {
    BOUND,
    DONE
  }

  private static final class Family {
    final String id;
    final int scope;
    final Names names;
    String current;
    State state = State.BOUND;

    Family(String id, int scope, Names names, String current) {
      this.id = id;
      this.scope = scope;
      this.names = names;
      this.current = current;
    }
  }

  private final Workload workload;
  private final long seed;
  private final List<Target> targets;
  private final List<String> rootAnchors;
  private final History history;
  private final Function<Mutation, SignedMutation> signer;
  private final List<Names> all = new CopyOnWriteArrayList<>();
  private final AtomicBoolean stop = new AtomicBoolean();
  private final List<Thread> threads = new ArrayList<>();

  public WorkloadDriver(
      Workload workload,
      long seed,
      List<Target> targets,
      List<String> rootAnchors,
      History history,
      Function<Mutation, SignedMutation> signer) {
    this.workload = workload;
    this.seed = seed;
    this.targets = targets;
    this.rootAnchors = rootAnchors;
    this.history = history;
    this.signer = signer;
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
    for (Thread t : threads) {
      try {
        t.join(workload.opTimeoutMs() * 3 + 5000);
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
      if (!kind.equals("bind") && !kind.equals("resolve") && live.isEmpty()) {
        kind = "bind";
      }
      switch (kind) {
        case "bind" -> mine.add(bind(c, r, factory, ++made));
        case "rename", "move" -> {
          Family f = live.get(r.nextInt(live.size()));
          boolean move = kind.equals("move");
          int k = f.names.names().size();
          String label = f.id + (move ? "-m" : "-r") + k;
          String to = targets.get(f.scope).name() + "@" + (move ? "mv/" : "") + label;
          write(c, factory, f, move ? Op.Kind.MOVE : Op.Kind.RENAME, to);
        }
        case "unbind" -> write(c, factory, live.get(r.nextInt(live.size())), Op.Kind.UNBIND, null);
        default -> resolve(c, r);
      }
    }
  }

  private Family bind(SimClient c, SplittableRandom r, MutationFactory factory, int n) {
    int scope = r.nextInt(targets.size());
    String id = c.id() + "f" + n;
    String alias = targets.get(scope).name() + "@" + id;
    Names names = new Names(id, scope, new CopyOnWriteArrayList<>(List.of(alias)));
    all.add(names);
    Family f = new Family(id, scope, names, alias);
    ObjectRecord rec =
        ObjectRecord.newBuilder()
            .addEndpoints(
                Endpoint.newBuilder()
                    .setHost("10.0." + r.nextInt(256) + "." + r.nextInt(256))
                    .setPort(1024 + r.nextInt(60000)))
            .build();
    Target t = targets.get(scope);
    Mutation m = factory.bind(t.id(), Alias.parse(alias), rec);
    record(c, f, Op.Kind.BIND, alias, null, m, t);
    return f;
  }

  private void write(
      SimClient c, MutationFactory factory, Family f, Op.Kind kind, @Nullable String to) {
    Target t = targets.get(f.scope);
    Mutation m =
        switch (kind) {
          case RENAME -> factory.rename(t.id(), Alias.parse(f.current), Alias.parse(to(to)));
          case MOVE -> factory.moveLocal(t.id(), Alias.parse(f.current), Alias.parse(to(to)));
          case UNBIND -> factory.unbind(t.id(), Alias.parse(f.current));
          default -> throw new IllegalStateException("not a family write: " + kind);
        };
    if (to != null) {
      f.names.names().add(to);
    }
    record(c, f, kind, f.current, to, m, t);
  }

  private static String to(@Nullable String to) {
    if (to == null) {
      throw new IllegalStateException("a rename or move needs a target");
    }
    return to;
  }

  private void record(
      SimClient c,
      Family f,
      Op.Kind kind,
      String alias,
      @Nullable String to,
      Mutation m,
      Target t) {
    SignedMutation s = signer.apply(m);
    long inv = history.nowUs();
    SimClient.WriteResult w = c.submit(s, t.anchors());
    long done = history.nowUs();
    history.add(
        new Op(
            history.nextId(),
            c.id(),
            kind,
            f.id,
            alias,
            to,
            f.scope,
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
    SimClient.Answer a = c.resolve(alias, consistency, bound, rootAnchors);
    long done = history.nowUs();
    history.add(
        new Op(
            history.nextId(),
            c.id(),
            Op.Kind.RESOLVE,
            n.family(),
            alias,
            null,
            n.scope(),
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
