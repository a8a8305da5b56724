package org.anf.sim.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.anf.anchor.dev.DevFabric;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.Signing;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.SignedMutation;
import org.anf.proto.v1.SubmitRequest;
import org.anf.proto.v1.SubmitResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Write and lookup load against a fresh embedded fabric: three anchor nodes in this JVM on loopback
 * (mutual TLS between them, Raft log fsync on), one scope governed by all three.
 *
 * <p>Writes: each client thread submits signed binds (the measured window's signed before the clock
 * starts, since signing is the client's cost; the warm-up's as they go) through gRPC to one of the
 * three anchors in turn, one at a time, and records each commit latency. Lookups: client threads
 * look bound aliases up on one anchor (BOUNDED consistency). Figures are printed as they come and
 * in a summary table.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = {
      "Measure binds per second and commit latency on a 3-anchor group (fsync on), then lookups"
          + " per second from one anchor. Runs its own fabric in a temp directory."
    })
public final class BenchCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--clients",
      split = ",",
      paramLabel = "N[,N...]",
      description = "Concurrent clients for each write run (default: ${DEFAULT-VALUE}).",
      defaultValue = "1,16,64")
  List<Integer> clients = List.of(1, 16, 64);

  @Option(
      names = "--seconds",
      paramLabel = "S",
      description = "Measured seconds per run (default: ${DEFAULT-VALUE}).",
      defaultValue = "15")
  int seconds = 15;

  @Option(
      names = "--warmup",
      paramLabel = "S",
      description = "Unmeasured seconds before each run (default: ${DEFAULT-VALUE}).",
      defaultValue = "3")
  int warmup = 3;

  @Option(
      names = "--lookup-clients",
      split = ",",
      paramLabel = "N[,N...]",
      description = "Concurrent clients for lookup runs (default: ${DEFAULT-VALUE}; 0 skips).",
      defaultValue = "16")
  List<Integer> lookupClients = List.of(16);

  @Option(
      names = "--peer",
      paramLabel = "etcd|none",
      description =
          "Also run the same write loop against a 3-member etcd cluster started here (Debian's"
              + " etcd-server), and print the ratio (default: ${DEFAULT-VALUE}).",
      defaultValue = "etcd")
  String peer = "etcd";

  @Option(
      names = "--to",
      paramLabel = "leader|all",
      description =
          "Which anchors the write clients talk to: all three in turn (default), or only the"
              + " scope's leader.",
      defaultValue = "all")
  String to = "all";

  @Option(
      names = "--snapshot-every",
      paramLabel = "N",
      description =
          "Each anchor snapshots the scope every N applied entries (default: ${DEFAULT-VALUE},"
              + " etcd's snapshot-count; an anchor.yaml's default is 10000).",
      defaultValue = "100000")
  long snapshotEvery = 100_000;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "Where the fabric's data goes (default: a temp dir under /tmp, deleted after).")
  Path data;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    if (snapshotEvery < 1) {
      spec.commandLine().getErr().println("anf bench: --snapshot-every must be at least 1");
      return 2;
    }
    boolean temp = data == null;
    Path dir = temp ? Files.createTempDirectory("anf-bench-") : data;
    DevFabric.Options o = DevFabric.Options.ephemeral(dir, 3);
    DevFabric.Options opts =
        new DevFabric.Options(
            o.dataDir(),
            o.host(),
            o.ports(),
            o.raftPorts(),
            o.metricsPorts(),
            snapshotEvery,
            List.of());
    out.printf(
        "anf bench: 3 anchors on loopback, Raft log fsync on, mutual TLS, a snapshot every %d"
            + " entries; data in %s%n",
        snapshotEvery, dir);
    out.printf(
        "cores=%d, java=%s%n",
        Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"));
    out.flush();
    List<String> rows = new ArrayList<>();
    try (DevFabric fabric = DevFabric.start(opts)) {
      long scope = fabric.createChild(fabric.root(), Alias.parse("bench"));
      for (var n : fabric.nodes()) {
        n.groups().awaitLeader(scope, 30_000);
      }
      List<ManagedChannel> channels = new ArrayList<>();
      for (var n : fabric.nodes()) {
        boolean leader = n.groups().division(scope).getInfo().isLeader();
        if (to.equals("all") || leader) {
          channels.add(NettyChannelBuilder.forTarget(n.address()).usePlaintext().build());
        }
      }
      out.printf(
          "write clients talk to %s%n",
          to.equals("all") ? "all three anchors in turn" : "the leader only");
      AtomicLong seq = new AtomicLong();
      ConcurrentLinkedQueue<String> names = new ConcurrentLinkedQueue<>();
      try {
        for (int c : clients) {
          var leaderMetrics = fabric.nodes().get(0).registry().metrics();
          long b0 = leaderMetrics.batches();
          Result r = writes(fabric, scope, channels, c, seq, names);
          anfRates.put(c, r.perSecond);
          out.printf(
              "  (process cpu %.0f us per commit in the measured window, clients included, %.2f"
                  + " cores busy; node a1 applied %d entries, mean %.1f mutations each; %d binds"
                  + " signed in the window)%n",
              r.cpuNanos / 1e3 / Math.max(1, r.lat.count()),
              r.cpuNanos / (double) r.elapsedNanos,
              leaderMetrics.batches() - b0,
              leaderMetrics.meanBatch(),
              signedInWindow.get());
          String row =
              String.format(
                  "binds  clients=%-3d %8.0f/s  %s  (%d commits)",
                  c, r.perSecond, r.lat.figures(), r.lat.count());
          out.println(row);
          out.flush();
          rows.add(row);
        }
        List<String> aliases = new ArrayList<>(names);
        for (int c : lookupClients) {
          if (c <= 0) {
            continue;
          }
          Result r = lookups(scope, channels.get(0), c, aliases);
          String row =
              String.format(
                  "lookups clients=%-3d %8.0f/s  p50 %6.3f ms  p99 %6.3f ms  (one anchor, BOUNDED)",
                  c, r.perSecond, r.lat.percentileMs(50), r.lat.percentileMs(99));
          out.println(row);
          out.flush();
          rows.add(row);
        }
      } finally {
        channels.forEach(ManagedChannel::shutdownNow);
      }
    } finally {
      if (temp) {
        org.anf.anchor.dev.TempDirs.deleteTree(dir);
      }
    }
    if (peer.equals("etcd")) {
      etcd(out, rows);
    }
    out.println("summary:");
    rows.forEach(r -> out.println("  " + r));
    return 0;
  }

  record Result(double perSecond, Latencies lat, long cpuNanos, long elapsedNanos) {}

  private Result writes(
      DevFabric fabric,
      long scope,
      List<ManagedChannel> channels,
      int clients,
      AtomicLong seq,
      ConcurrentLinkedQueue<String> names)
      throws InterruptedException {
    // Every bind is signed before its client starts, on all cores, since signing is the client's
    // cost and not the anchors': those of the measured window for a generous rate (8,000/s over
    // all clients, at most 2,000/s for one), and those of the warm-up for 4,000/s (at most 1,000/s
    // for one), so that the warm-up runs the very path that is measured at full speed (a warm-up
    // whose clients signed as they went warmed the JVM with a slower, different load). A client
    // that runs out signs as it goes, and the run says how often that happened in the window.
    int perClient = (int) Math.min(2_000L, 8_000L / clients + 1) * seconds + 200;
    int warmPerClient = (int) Math.min(1_000L, 4_000L / clients + 1) * warmup;
    ObjectRecord rec =
        ObjectRecord.newBuilder()
            .addEndpoints(Endpoint.newBuilder().setHost("10.0.0.1").setPort(443))
            .build();
    List<ClientWork> work = new ArrayList<>();
    // Mutation ids come from one seeded factory per client, so that they do not depend on how
    // signing was scheduled. The seed names this run of the invocation too: two runs with the same
    // client count (--clients 64,64) would otherwise send the same ids again, and the anchors
    // would answer them as duplicates without writing anything.
    long run = writeRuns.incrementAndGet();
    for (int i = 0; i < clients; i++) {
      var factory =
          new org.anf.lineage.mutation.MutationFactory(
              new java.util.Random((run << 40) ^ (clients * 1_000_003L + i)),
              System::currentTimeMillis);
      int idx = i;
      work.add(
          new ClientWork(
              () -> "bench@c" + clients + "/t" + idx + "/n" + seq.incrementAndGet(),
              alias -> Signing.sign(factory.bind(scope, Alias.parse(alias), rec), fabric.admin())));
    }
    long signStart = System.nanoTime();
    java.util.stream.IntStream.range(0, clients)
        .parallel()
        .forEach(
            i -> {
              work.get(i).presign(work.get(i).warm, warmPerClient);
              work.get(i).presign(work.get(i).window, perClient);
            });
    spec.commandLine()
        .getOut()
        .printf(
            "  (pre-signed %d binds for the warm-up and %d for the window in %.1f s)%n",
            (long) warmPerClient * clients,
            (long) perClient * clients,
            (System.nanoTime() - signStart) / 1e9);
    signedInWindow.set(0);
    callStarted = new java.util.concurrent.atomic.AtomicLongArray(clients);
    stallFabric = fabric;
    stallScope = scope;
    stallChannels = channels;
    return run(
        clients,
        (i, measuring, lat) -> {
          var stub = MutationServiceGrpc.newBlockingStub(channels.get(i % channels.size()));
          ClientWork w = work.get(i);
          while (!stopped.get()) {
            boolean inWindow = measuring.get();
            ClientWork.Bind b = w.next(inWindow ? w.window : w.warm);
            if (b.signedNow() && inWindow) {
              signedInWindow.incrementAndGet();
            }
            long t0 = System.nanoTime();
            callStarted.set(i, t0);
            SubmitResponse r =
                stub.withDeadlineAfter(30, TimeUnit.SECONDS)
                    .submit(SubmitRequest.newBuilder().setMutation(b.mutation()).build());
            long d = System.nanoTime() - t0;
            callStarted.set(i, 0);
            if (r.getDuplicate()) {
              throw new IllegalStateException(
                  "the bind of "
                      + b.alias()
                      + " was answered as a duplicate of an earlier mutation: nothing was written");
            }
            if (measuring.get()) {
              lat.add(d);
            }
            names.add(b.alias());
          }
        });
  }

  /** One write client's binds: signed ahead for the warm-up and for the window, in order. */
  private static final class ClientWork {
    record Bind(String alias, SignedMutation mutation, boolean signedNow) {}

    final java.util.ArrayDeque<Bind> warm = new java.util.ArrayDeque<>();
    final java.util.ArrayDeque<Bind> window = new java.util.ArrayDeque<>();
    private final java.util.function.Supplier<String> nextAlias;
    private final java.util.function.Function<String, SignedMutation> sign;

    ClientWork(
        java.util.function.Supplier<String> nextAlias,
        java.util.function.Function<String, SignedMutation> sign) {
      this.nextAlias = nextAlias;
      this.sign = sign;
    }

    void presign(java.util.ArrayDeque<Bind> into, int n) {
      for (int j = 0; j < n; j++) {
        into.add(signNext(false));
      }
    }

    /** The next pre-signed bind of {@code from} (released once taken), or one signed now. */
    Bind next(java.util.ArrayDeque<Bind> from) {
      Bind b = from.poll();
      return b != null ? b : signNext(true);
    }

    private Bind signNext(boolean now) {
      String alias = nextAlias.get();
      return new Bind(alias, sign.apply(alias), now);
    }
  }

  /** Binds a client had to sign inside the measured window, having used up its pre-signed ones. */
  private final AtomicLong signedInWindow = new AtomicLong();

  /** The same write loop against etcd: Puts of a value the size of a signed bind. */
  private void etcd(PrintWriter out, List<String> rows) throws Exception {
    Path dir = Files.createTempDirectory("anf-bench-etcd-");
    try (EtcdPeer etcd = new EtcdPeer(dir)) {
      out.printf("etcd 3.4 peer: 3 members on %s%n", etcd.endpoints());
      List<ManagedChannel> chs = new ArrayList<>();
      for (String e : etcd.endpoints()) {
        chs.add(EtcdPeer.channel(e));
      }
      byte[] value = new byte[VALUE_BYTES];
      new java.util.Random(7).nextBytes(value);
      try {
        for (int c : clients) {
          Result r =
              run(
                  c,
                  (i, measuring, lat) -> {
                    ManagedChannel ch = chs.get(i % chs.size());
                    for (long j = 0; !stopped.get(); j++) {
                      byte[] key =
                          ("/bench/c" + c + "/t" + i + "/n" + j)
                              .getBytes(java.nio.charset.StandardCharsets.UTF_8);
                      long t0 = System.nanoTime();
                      EtcdPeer.put(ch, key, value);
                      long d = System.nanoTime() - t0;
                      if (measuring.get()) {
                        lat.add(d);
                      }
                    }
                  });
          String row =
              String.format(
                  "etcd puts clients=%-3d %6.0f/s  %s  (%d puts)",
                  c, r.perSecond, r.lat.figures(), r.lat.count());
          out.println(row);
          out.flush();
          rows.add(row);
          Double ours = anfRates.get(c);
          if (ours != null) {
            String ratio =
                String.format("ratio anf/etcd at %d clients: %.2f", c, ours / r.perSecond);
            out.println(ratio);
            rows.add(ratio);
          }
        }
      } finally {
        chs.forEach(ManagedChannel::shutdownNow);
      }
    } finally {
      org.anf.anchor.dev.TempDirs.deleteTree(dir);
    }
  }

  /** Size of a signed bind mutation as the benchmark sends it, for a like-for-like etcd value. */
  static final int VALUE_BYTES = 200;

  private final java.util.Map<Integer, Double> anfRates = new java.util.HashMap<>();

  private Result lookups(long scope, ManagedChannel ch, int clients, List<String> aliases)
      throws InterruptedException {
    List<LookupRequest> reqs = new ArrayList<>();
    for (int i = 0; i < Math.min(aliases.size(), 20_000); i++) {
      reqs.add(
          LookupRequest.newBuilder()
              .setScopeId(scope)
              .setAlias(Alias.parse(aliases.get(i)).toProto())
              .setConsistency(Consistency.CONSISTENCY_BOUNDED)
              .build());
    }
    return run(
        clients,
        (i, measuring, lat) -> {
          var stub = AnchorServiceGrpc.newBlockingStub(ch);
          for (int j = i; !stopped.get(); j += clients) {
            long t0 = System.nanoTime();
            var r = stub.withDeadlineAfter(10, TimeUnit.SECONDS).lookup(reqs.get(j % reqs.size()));
            long d = System.nanoTime() - t0;
            if (r.getStatus() != LookupStatus.LOOKUP_STATUS_EXACT) {
              throw new IllegalStateException("lookup of a bound alias gave " + r.getStatus());
            }
            if (measuring.get()) {
              lat.add(d);
            }
          }
        });
  }

  private final AtomicBoolean stopped = new AtomicBoolean();

  /** Write runs started in this invocation, one per client count. */
  private final AtomicLong writeRuns = new AtomicLong();

  interface Client {
    void run(int index, AtomicBoolean measuring, Latencies lat) throws Exception;
  }

  private Result run(int clients, Client client) throws InterruptedException {
    stopped.set(false);
    AtomicBoolean measuring = new AtomicBoolean(false);
    List<Latencies> lats = new ArrayList<>();
    ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
    CountDownLatch done = new CountDownLatch(clients);
    for (int i = 0; i < clients; i++) {
      Latencies l = new Latencies();
      lats.add(l);
      int idx = i;
      Thread t =
          new Thread(
              () -> {
                try {
                  client.run(idx, measuring, l);
                } catch (Throwable e) {
                  failures.add(e);
                } finally {
                  done.countDown();
                }
              },
              "bench-client-" + i);
      t.setDaemon(true);
      t.start();
    }
    var os =
        (com.sun.management.OperatingSystemMXBean)
            java.lang.management.ManagementFactory.getOperatingSystemMXBean();
    Stall stall = new Stall();
    stall.watch(TimeUnit.SECONDS.toMillis(warmup));
    measuring.set(true);
    long t0 = System.nanoTime();
    long cpu0 = os.getProcessCpuTime();
    stall.watch(TimeUnit.SECONDS.toMillis(seconds));
    measuring.set(false);
    long elapsed = System.nanoTime() - t0;
    long cpu = os.getProcessCpuTime() - cpu0;
    stopped.set(true);
    done.await(60, TimeUnit.SECONDS);
    callStarted = new java.util.concurrent.atomic.AtomicLongArray(0);
    if (!failures.isEmpty()) {
      throw new IllegalStateException("a bench client failed: " + failures.peek(), failures.peek());
    }
    Latencies all = new Latencies();
    lats.forEach(all::addAll);
    return new Result(all.count() / (elapsed / 1e9), all, cpu, elapsed);
  }

  /** When each write client's call in flight started (System.nanoTime), or 0 between calls. */
  private volatile java.util.concurrent.atomic.AtomicLongArray callStarted =
      new java.util.concurrent.atomic.AtomicLongArray(0);

  private @org.jspecify.annotations.Nullable DevFabric stallFabric;
  private long stallScope;
  private List<ManagedChannel> stallChannels = List.of();

  /** A write call out this long is a stall worth a thread dump (the call's deadline is 30 s). */
  static final long STALL_NANOS = TimeUnit.SECONDS.toNanos(10);

  /**
   * Sleeps through a run's phases, checking once a second for a write call that has been out longer
   * than {@link #STALL_NANOS}: the first such call of a run gets every thread's stack and each
   * anchor's view of the scope written to a file, named on stderr, so that a rare stall leaves
   * evidence before the run fails on the call's deadline.
   */
  private final class Stall {
    private boolean dumped;

    void watch(long millis) throws InterruptedException {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      for (long left; (left = end - System.nanoTime()) > 0; ) {
        Thread.sleep(Math.min(1_000, TimeUnit.NANOSECONDS.toMillis(left) + 1));
        if (!dumped) {
          check();
        }
      }
    }

    private void check() {
      var started = callStarted;
      long now = System.nanoTime();
      for (int i = 0; i < started.length(); i++) {
        long t = started.get(i);
        if (t != 0 && now - t > STALL_NANOS) {
          dumped = true;
          dump(i, (now - t) / 1_000_000);
          return;
        }
      }
    }

    private void dump(int client, long outMillis) {
      StringBuilder b = new StringBuilder();
      b.append(
          String.format(
              "bench-client-%d: a Submit to %s out for %d ms%n",
              client,
              stallChannels.isEmpty()
                  ? "?"
                  : stallChannels.get(client % stallChannels.size()).authority(),
              outMillis));
      DevFabric f = stallFabric;
      if (f != null) {
        for (var n : f.nodes()) {
          try {
            var d = n.groups().division(stallScope);
            var info = d.getInfo();
            b.append(
                String.format(
                    "anchor %s: leader=%s term=%d commit=%d applied=%d%n",
                    n.nodeId(),
                    info.isLeader() ? "self" : String.valueOf(info.getLeaderId()),
                    info.getCurrentTerm(),
                    d.getRaftLog().getLastCommittedIndex(),
                    info.getLastAppliedIndex()));
          } catch (RuntimeException e) {
            b.append("anchor ").append(n.nodeId()).append(": ").append(e).append('\n');
          }
        }
      }
      b.append(org.anf.anchor.dev.ThreadDumps.text());
      try {
        Path file = Files.createTempFile("anf-bench-stall-", ".txt");
        Files.writeString(file, b);
        System.err.printf(
            "anf bench: a write call has been out for %d ms; threads and anchors written to %s%n",
            outMillis, file);
      } catch (java.io.IOException e) {
        System.err.println("anf bench: a write call is stalled; could not write the dump: " + e);
      }
    }
  }
}
