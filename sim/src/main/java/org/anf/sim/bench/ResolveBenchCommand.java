package org.anf.sim.bench;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.anf.anchor.dev.DevFabric;
import org.anf.anchor.gateway.ResolverProcess;
import org.anf.anchor.gateway.ResolverProcessConfig;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.mutation.MutationFactory;
import org.anf.lineage.mutation.Signing;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.MutationServiceGrpc;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.ResolveRequest;
import org.anf.proto.v1.ResolverServiceGrpc;
import org.anf.proto.v1.SubmitRequest;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.service.ResolveStreamClient;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "bench-resolve",
    mixinStandardHelpOptions = true,
    description = {
      "Measure resolution: a 3-anchor fabric with 10,000 aliases four scopes deep"
          + " (bench@a/b/hNNNNN under root → bench → bench@a → bench@a/b), then resolves per second"
          + " and p50/p99 over gRPC with a warm cache, cold four-scope walks, and the DNS gateway"
          + " of an `anf resolver` started in its own JVM under dnsperf beside Knot DNS serving"
          + " the same names.",
      "Needs dnsperf, knot and dig (apt-get install -y dnsperf knot dnsutils) for the DNS part."
    })
public final class ResolveBenchCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--clients",
      split = ",",
      description = "Concurrent clients (default: ${DEFAULT-VALUE}).",
      defaultValue = "1,16,64")
  List<Integer> clients = List.of(1, 16, 64);

  @Option(
      names = "--seconds",
      description = "Measured seconds per run (default: ${DEFAULT-VALUE}).",
      defaultValue = "10")
  int seconds = 10;

  @Option(
      names = "--warmup",
      description = "Unmeasured seconds first (default: ${DEFAULT-VALUE}).",
      defaultValue = "10")
  int warmup = 10;

  @Option(
      names = "--names",
      description = "Aliases bound (default: ${DEFAULT-VALUE}).",
      defaultValue = "10000")
  int names = 10_000;

  @Option(
      names = "--dns-seconds",
      description = "dnsperf run length (default: ${DEFAULT-VALUE}; 0 skips DNS).",
      defaultValue = "20")
  int dnsSeconds = 20;

  @Option(
      names = "--channels",
      description =
          "gRPC channels (connections) the asynchronous warm clients share (default:"
              + " ${DEFAULT-VALUE}; never more than the clients).",
      defaultValue = "4")
  int channels = 4;

  @Option(
      names = "--dns-warmup",
      description =
          "Unmeasured dnsperf seconds against the gateway first, so the JIT has compiled its"
              + " path (default: ${DEFAULT-VALUE}).",
      defaultValue = "60")
  int dnsWarmup = 60;

  @Option(
      names = "--seed",
      description = "Seed of the query mix (default: ${DEFAULT-VALUE}).",
      defaultValue = "42")
  long seed = 42;

  @Option(
      names = "--resolver-jvm-arg",
      paramLabel = "ARG",
      description =
          "An option for the resolver process's JVM, such as -Xlog:jit+compilation=debug"
              + " or -Danf.dns.udp.batched=false (repeatable). That JVM always gets"
              + " --add-modules jdk.incubator.foreign --enable-native-access=ALL-UNNAMED, as"
              + " bin/anf starts the resolver, so that the gateway reads and answers in batches.")
  List<String> resolverJvmArgs = new ArrayList<>();

  interface Op {
    void call(int client, int i) throws Exception;
  }

  record Result(double perSecond, Latencies lat) {}

  private Result run(int n, Op op) throws Exception {
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    List<Latencies> lats = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(n);
    List<Future<?>> fs = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      Latencies l = new Latencies();
      lats.add(l);
      int client = c;
      fs.add(
          pool.submit(
              () -> {
                Random rnd = new Random(seed + client);
                while (!stop.get()) {
                  long t0 = System.nanoTime();
                  op.call(client, rnd.nextInt(names));
                  if (measuring.get()) {
                    l.add(System.nanoTime() - t0);
                  }
                }
                return null;
              }));
    }
    long elapsed = window(measuring);
    stop.set(true);
    for (Future<?> f : fs) {
      f.get(60, TimeUnit.SECONDS);
    }
    pool.shutdownNow();
    Latencies all = new Latencies();
    lats.forEach(all::addAll);
    return new Result(all.count() / (elapsed / 1e9), all);
  }

  /**
   * The warm-up, then the measured window, with {@code measuring} set for its length; returns its
   * length in nanoseconds.
   */
  private long window(AtomicBoolean measuring) throws InterruptedException {
    Thread.sleep(TimeUnit.SECONDS.toMillis(warmup));
    measuring.set(true);
    long t0 = System.nanoTime();
    Thread.sleep(TimeUnit.SECONDS.toMillis(seconds));
    measuring.set(false);
    return System.nanoTime() - t0;
  }

  /** What clients that each keep one call outstanding share with {@link #runOutstanding}. */
  private static final class Outstanding {
    final AtomicBoolean measuring = new AtomicBoolean();
    final AtomicBoolean stop = new AtomicBoolean();
    final AtomicReference<@Nullable Throwable> failure = new AtomicReference<>();
    final CountDownLatch done;

    Outstanding(int clients) {
      this.done = new CountDownLatch(clients);
    }

    /** Whether a client is to stop now instead of sending its next call; counts it out if so. */
    boolean leaving() {
      if (stop.get() || failure.get() != null) {
        done.countDown();
        return true;
      }
      return false;
    }

    /** An answer arrived: checked, and timed while measuring. */
    void answered(LookupResult r, int asked, long startedNanos, Latencies lat) {
      if (r.getStatus() != LookupStatus.LOOKUP_STATUS_EXACT) {
        failure.compareAndSet(null, new IllegalStateException(alias(asked) + ": " + r.getStatus()));
      }
      if (measuring.get()) {
        lat.add(System.nanoTime() - startedNanos);
      }
    }

    void failed(Throwable t) {
      failure.compareAndSet(null, t);
      done.countDown();
    }
  }

  /** Starts client {@code client}: it sends its first call and each next one on an answer. */
  interface Starter {
    void start(int client, Random rnd, Latencies lat, Outstanding o);
  }

  /**
   * {@code n} calls kept outstanding, each completion sending that client's next call from the
   * transport thread: the load shape of gRPC's own benchmarks and of ghz, where n blocking client
   * threads would instead compete with the server for the two cores.
   */
  private Result runOutstanding(int n, Starter starter) throws Exception {
    Outstanding o = new Outstanding(n);
    List<Latencies> lats = new ArrayList<>();
    for (int c = 0; c < n; c++) {
      Latencies l = new Latencies();
      lats.add(l);
      starter.start(c, new Random(seed + c), l, o);
    }
    long elapsed = window(o.measuring);
    o.stop.set(true);
    if (!o.done.await(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("asynchronous clients did not stop within 60 s");
    }
    Throwable f = o.failure.get();
    if (f != null) {
      throw new IllegalStateException("a warm resolve failed: " + f, f);
    }
    Latencies all = new Latencies();
    lats.forEach(all::addAll);
    return new Result(all.count() / (elapsed / 1e9), all);
  }

  /** Unary Resolve calls over {@code chs}, one outstanding per client. */
  private Result runAsync(int n, List<ManagedChannel> chs) throws Exception {
    return runOutstanding(
        n,
        (c, rnd, lat, o) ->
            new AsyncClient(ResolverServiceGrpc.newStub(chs.get(c % chs.size())), rnd, lat, o)
                .next());
  }

  /** One client of {@link #runAsync}: one call outstanding, the next sent when it completes. */
  private final class AsyncClient implements StreamObserver<LookupResult> {
    private final ResolverServiceGrpc.ResolverServiceStub stub;
    private final Random rnd;
    private final Latencies lat;
    private final Outstanding o;
    private long started;
    private int asked;
    private @Nullable LookupResult answer;

    AsyncClient(
        ResolverServiceGrpc.ResolverServiceStub stub, Random rnd, Latencies lat, Outstanding o) {
      this.stub = stub;
      this.rnd = rnd;
      this.lat = lat;
      this.o = o;
    }

    void next() {
      if (o.leaving()) {
        return;
      }
      asked = rnd.nextInt(names);
      answer = null;
      started = System.nanoTime();
      stub.resolve(ResolveRequest.newBuilder().setName(alias(asked)).build(), this);
    }

    @Override
    public void onNext(LookupResult r) {
      answer = r;
    }

    @Override
    public void onError(Throwable t) {
      o.failed(t);
    }

    @Override
    public void onCompleted() {
      LookupResult r = answer;
      if (r == null) {
        o.failed(new IllegalStateException(alias(asked) + ": completed without an answer"));
        return;
      }
      o.answered(r, asked, started, lat);
      next();
    }
  }

  /**
   * The same resolves over one ResolveStream call per channel shared by the clients: a resolve
   * costs a message instead of a call.
   */
  private Result runStream(int n, List<ResolveStreamClient> streams) throws Exception {
    return runOutstanding(
        n, (c, rnd, lat, o) -> streamNext(streams.get(c % streams.size()), rnd, lat, o));
  }

  /** One resolve of a {@link #runStream} client; the next is sent when it is answered. */
  private void streamNext(ResolveStreamClient stream, Random rnd, Latencies lat, Outstanding o) {
    if (o.leaving()) {
      return;
    }
    int asked = rnd.nextInt(names);
    long started = System.nanoTime();
    var unused =
        stream
            .resolve(alias(asked))
            .whenComplete(
                (r, t) -> {
                  if (t != null) {
                    o.failed(t);
                    return;
                  }
                  o.answered(r, asked, started, lat);
                  streamNext(stream, rnd, lat, o);
                });
  }

  static String alias(int i) {
    return i < ALIASES.length ? ALIASES[i] : format(i);
  }

  private static String format(int i) {
    return String.format("bench@a/b/h%05d", i);
  }

  /**
   * The default --names' aliases, formatted once: String.format costs about a microsecond, spent by
   * the load generator on the cores the resolver is measured on.
   */
  private static final String[] ALIASES =
      java.util.stream.IntStream.range(0, 10_000)
          .mapToObj(ResolveBenchCommand::format)
          .toArray(String[]::new);

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Path dir = Files.createTempDirectory("anf-bench-resolve-");
    List<String> rows = new ArrayList<>();
    out.printf(
        "anf bench-resolve: 3 anchors, %d aliases 4 scopes deep; cores=%d java=%s; data in %s%n",
        names, Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"), dir);
    out.flush();
    try (DevFabric f = DevFabric.start(DevFabric.Options.ephemeral(dir.resolve("fabric"), 3))) {
      long bench = f.createChild(f.root(), Alias.parse("bench"));
      long a = f.createChild(bench, Alias.parse("bench@a"));
      long b = f.createChild(a, Alias.parse("bench@a/b"));
      bindAll(f, b, out);
      List<String> seeds = new ArrayList<>();
      f.nodes().forEach(nd -> seeds.add(nd.address()));
      ResolverProcessConfig pc =
          new ResolverProcessConfig(ResolverConfig.of(seeds), "127.0.0.1", 0, -1, null, null);
      try (ResolverProcess p = ResolverProcess.start(pc)) {
        AnfResolver r = p.resolver();
        for (int i = 0; i < names; i++) {
          LookupResult res = r.resolve(alias(i), ResolveOptions.DEFAULT);
          if (res.getStatus() != LookupStatus.LOOKUP_STATUS_EXACT) {
            throw new IllegalStateException(alias(i) + " resolved " + res.getStatus());
          }
        }
        out.printf("cache warmed: %d answers%n", r.cachedAnswers());
        List<ManagedChannel> async = new ArrayList<>();
        for (int i = 0; i < Math.max(1, channels); i++) {
          async.add(
              NettyChannelBuilder.forTarget(p.address()).usePlaintext().directExecutor().build());
        }
        try {
          for (int c : clients) {
            Result res = runAsync(c, async.subList(0, Math.min(c, async.size())));
            rows.add(row("warm  grpc async, " + Math.min(c, async.size()) + " channel(s)", c, res));
            out.println(rows.get(rows.size() - 1));
            out.flush();
          }
          List<ResolveStreamClient> streams = new ArrayList<>();
          async.forEach(ch -> streams.add(new ResolveStreamClient(ch)));
          try {
            for (int c : clients) {
              Result res = runStream(c, streams.subList(0, Math.min(c, streams.size())));
              rows.add(
                  row("warm  grpc stream, " + Math.min(c, streams.size()) + " channel(s)", c, res));
              out.println(rows.get(rows.size() - 1));
              out.flush();
            }
          } finally {
            streams.forEach(ResolveStreamClient::close);
          }
        } finally {
          async.forEach(ManagedChannel::shutdownNow);
        }
        ManagedChannel ch = NettyChannelBuilder.forTarget(p.address()).usePlaintext().build();
        try {
          var stub = ResolverServiceGrpc.newBlockingStub(ch);
          for (int c : clients) {
            Result res =
                run(
                    c,
                    (client, i) -> {
                      LookupResult lr =
                          stub.resolve(ResolveRequest.newBuilder().setName(alias(i)).build());
                      if (lr.getStatus() != LookupStatus.LOOKUP_STATUS_EXACT) {
                        throw new IllegalStateException(alias(i) + ": " + lr.getStatus());
                      }
                    });
            rows.add(row("warm  grpc blocking threads, 1 channel", c, res));
            out.println(rows.get(rows.size() - 1));
            out.flush();
          }
        } finally {
          ch.shutdownNow();
        }
        for (int c : clients) {
          Result res = run(c, (client, i) -> r.resolve(alias(i), ResolveOptions.DEFAULT));
          rows.add(row("warm  in-process library ", c, res));
          out.println(rows.get(rows.size() - 1));
          out.flush();
        }
        for (int c : clients) {
          Result res =
              run(
                  c,
                  (client, i) -> {
                    LookupResult lr = r.walkUncached(alias(i), ResolveOptions.DEFAULT);
                    if (lr.getPathCount() != 4) {
                      throw new IllegalStateException("walk of " + alias(i) + " was not 4 scopes");
                    }
                  });
          rows.add(row("cold  4-scope walk (4 gRPC)", c, res));
          out.println(rows.get(rows.size() - 1));
          out.flush();
        }
        out.printf("resolver cache hit ratio over the run: %.3f%n", r.cacheHitRatio());
      }
      if (dnsSeconds > 0) {
        dns(seeds, dir, out, rows);
      }
    } finally {
      org.anf.anchor.dev.TempDirs.deleteTree(dir);
    }
    out.println("summary:");
    rows.forEach(x -> out.println("  " + x));
    return 0;
  }

  private static String row(String what, int c, Result r) {
    return String.format(
        "%-40s clients=%-3d %9.0f/s  p50 %7.3f ms  p99 %7.3f ms",
        what, c, r.perSecond, r.lat.percentileMs(50), r.lat.percentileMs(99));
  }

  private void bindAll(DevFabric f, long scope, PrintWriter out) throws Exception {
    MutationFactory factory = new MutationFactory(new SecureRandom(), System::currentTimeMillis);
    List<ManagedChannel> chs = new ArrayList<>();
    f.nodes()
        .forEach(nd -> chs.add(NettyChannelBuilder.forTarget(nd.address()).usePlaintext().build()));
    long t0 = System.nanoTime();
    int threads = 32;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    CountDownLatch done = new CountDownLatch(threads);
    List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    for (int t = 0; t < threads; t++) {
      int tt = t;
      pool.execute(
          () -> {
            try {
              var stub = MutationServiceGrpc.newBlockingStub(chs.get(tt % chs.size()));
              for (int i = tt; i < names; i += threads) {
                ObjectRecord rec =
                    ObjectRecord.newBuilder()
                        .addEndpoints(
                            Endpoint.newBuilder()
                                .setHost(
                                    String.format(
                                        "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256)))
                        .build();
                stub.withDeadlineAfter(60, TimeUnit.SECONDS)
                    .submit(
                        SubmitRequest.newBuilder()
                            .setMutation(
                                Signing.sign(
                                    factory.bind(scope, Alias.parse(alias(i)), rec), f.admin()))
                            .build());
              }
            } catch (Throwable e) {
              errors.add(e);
            } finally {
              done.countDown();
            }
          });
    }
    done.await();
    pool.shutdownNow();
    chs.forEach(ManagedChannel::shutdownNow);
    if (!errors.isEmpty()) {
      throw new IllegalStateException("binding failed: " + errors.get(0), errors.get(0));
    }
    out.printf("bound %d aliases in %.1f s%n", names, (System.nanoTime() - t0) / 1e9);
    out.flush();
  }

  /** dnsperf against the gateway, then against knotd serving the same names, same query mix. */
  private void dns(List<String> seeds, Path dir, PrintWriter out, List<String> rows)
      throws IOException, InterruptedException {
    // The gateway runs as deployed, `anf resolver` in its own JVM, as knotd runs in its own
    // process: in this JVM it would share the JIT with three anchors and the load generators, and
    // C2 was still compiling their code (0.28 of a core) during the measured window.
    int gatewayPort = freePort();
    int metricsPort;
    try (java.net.ServerSocket ss =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      metricsPort = ss.getLocalPort();
    }
    Path rd = dir.resolve("resolver");
    Files.createDirectories(rd);
    Path cfg = rd.resolve("resolver.yaml");
    Files.writeString(
        cfg,
        "seeds: ["
            + String.join(", ", seeds)
            + "]\nlisten: 127.0.0.1:0\nmetrics_port: "
            + metricsPort
            + "\ndns:\n  listen: 127.0.0.1:"
            + gatewayPort
            + "\n  zone: anf.\n");
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(
        List.of("--add-modules", "jdk.incubator.foreign", "--enable-native-access=ALL-UNNAMED"));
    cmd.addAll(resolverJvmArgs);
    cmd.addAll(
        List.of(
            "-cp",
            System.getProperty("java.class.path"),
            "org.anf.anchor.cli.Anf",
            "resolver",
            "--config",
            cfg.toString()));
    Process resolver =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(rd.resolve("resolver.log").toFile())
            .start();
    try {
      if (!answers(gatewayPort, "h00001.b.a.bench.anf", "10.0.0.1")) {
        // The log goes with the temp dir: say what it ended with.
        List<String> log = Files.readAllLines(rd.resolve("resolver.log"), StandardCharsets.UTF_8);
        throw new IllegalStateException(
            "the resolver process's gateway did not answer within 30 s; its log ended with: "
                + String.join(" | ", log.subList(Math.max(0, log.size() - 5), log.size())));
      }
      out.printf(
          "dns: the gateway of `anf resolver` in its own JVM (pid %d), port %d%n",
          resolver.pid(), gatewayPort);
      ProcessHandle h = resolver.toHandle();
      dns(gatewayPort, () -> cpuNanos(h), () -> scrape(metricsPort), dir, out, rows);
    } finally {
      resolver.destroy();
      if (!resolver.waitFor(20, TimeUnit.SECONDS)) {
        resolver.destroyForcibly();
      }
    }
  }

  /** The resolver's counters that say which path the gateway's queries took, or null. */
  private static java.util.@Nullable Map<String, Double> scrape(int port) {
    try {
      java.net.http.HttpResponse<String> r =
          java.net.http.HttpClient.newHttpClient()
              .send(
                  java.net.http.HttpRequest.newBuilder(
                          java.net.URI.create("http://127.0.0.1:" + port + "/metrics"))
                      .build(),
                  java.net.http.HttpResponse.BodyHandlers.ofString());
      java.util.Map<String, Double> m = new java.util.HashMap<>();
      for (String line : r.body().split("\n")) {
        if (line.startsWith("#") || line.isBlank()) {
          continue;
        }
        String name = line.split("[{ ]", 2)[0];
        double v = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        m.merge(name, v, Double::sum);
      }
      return m;
    } catch (IOException | RuntimeException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private static double delta(
      java.util.Map<String, Double> before, java.util.Map<String, Double> after, String name) {
    return after.getOrDefault(name, 0.0) - before.getOrDefault(name, 0.0);
  }

  private static long cpuNanos(ProcessHandle h) {
    return h.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(-1L);
  }

  /** A UDP port free now on loopback (knotd and the resolver's gateway need theirs up front). */
  private static int freePort() throws IOException {
    try (java.net.DatagramSocket s =
        new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  /** Asks {@code name} with dig until the answer is {@code expected}, for up to 30 s. */
  private static boolean answers(int port, String name, String expected)
      throws IOException, InterruptedException {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < end) {
      Process dig =
          new ProcessBuilder(
                  "dig",
                  "@127.0.0.1",
                  "-p",
                  String.valueOf(port),
                  "+short",
                  "+time=1",
                  "+tries=1",
                  name,
                  "A")
              .redirectErrorStream(true)
              .start();
      String a = new String(dig.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      dig.waitFor();
      if (a.equals(expected)) {
        return true;
      }
      Thread.sleep(200);
    }
    return false;
  }

  private void dns(
      int gatewayPort,
      java.util.function.LongSupplier gatewayCpuNanos,
      java.util.function.Supplier<java.util.@Nullable Map<String, Double>> metrics,
      Path dir,
      PrintWriter out,
      List<String> rows)
      throws IOException, InterruptedException {
    Random rnd = new Random(seed);
    StringBuilder anf = new StringBuilder();
    StringBuilder knot = new StringBuilder();
    for (int n = 0; n < 10_000; n++) {
      double r = rnd.nextDouble();
      int i = rnd.nextInt(names);
      String label = String.format("h%05d", i);
      if (r < 0.05) {
        anf.append("nx").append(label).append(".b.a.bench.anf A\n");
        knot.append("nx").append(label).append(".b.a.bench.anf A\n");
      } else if (r < 0.10) {
        anf.append(label).append(".b.a.bench.anf TXT\n");
        knot.append(label).append(".b.a.bench.anf TXT\n");
      } else {
        anf.append(label).append(".b.a.bench.anf A\n");
        knot.append(label).append(".b.a.bench.anf A\n");
      }
    }
    Path qa = dir.resolve("queries-anf.txt");
    Files.writeString(qa, anf, StandardCharsets.UTF_8);
    Path qk = dir.resolve("queries-knot.txt");
    Files.writeString(qk, knot, StandardCharsets.UTF_8);
    if (dnsWarmup > 0) {
      out.printf("dns: %d s of unmeasured warm-up against the gateway%n", dnsWarmup);
      out.flush();
      dnsperf(gatewayPort, qa, dir.resolve("dnsperf-anf-warmup.txt"), dnsWarmup, () -> -1);
    }
    java.util.Map<String, Double> m0 = metrics.get();
    String g =
        dnsperf(gatewayPort, qa, dir.resolve("dnsperf-anf.txt"), dnsSeconds, gatewayCpuNanos);
    java.util.Map<String, Double> m1 = metrics.get();
    rows.add("dns   anf gateway  " + g);
    out.println(rows.get(rows.size() - 1));
    if (m0 == null || m1 == null) {
      out.println(
          "dns: the resolver's /metrics could not be read: which path queries took unknown");
    } else {
      // Queries the packet cache answered never reach the resolver: these are the others.
      out.printf(
          "dns: during the run the resolver answered %.0f queries past the packet cache, %.0f"
              + " of them from its own cache; it walked %.0f names%n",
          delta(m0, m1, "anf_resolver_resolves_total"),
          delta(m0, m1, "anf_resolver_cache_hits_total"),
          delta(m0, m1, "anf_resolver_walk_seconds_count"));
    }
    out.flush();
    String k = knot(dir, qk, out);
    if (k != null) {
      rows.add("dns   knotd        " + k);
      out.println(rows.get(rows.size() - 1));
    }
  }

  /**
   * Runs dnsperf; the figures it printed, and the server's CPU time per query answered when {@code
   * serverCpuNanos} gives it (negative: unknown).
   */
  private String dnsperf(
      int port, Path queries, Path log, int seconds, java.util.function.LongSupplier serverCpuNanos)
      throws IOException, InterruptedException {
    long cpu0 = serverCpuNanos.getAsLong();
    Process p =
        new ProcessBuilder(
                "dnsperf",
                "-s",
                "127.0.0.1",
                "-p",
                String.valueOf(port),
                "-d",
                queries.toString(),
                "-c",
                "4",
                "-T",
                "2",
                "-l",
                String.valueOf(seconds),
                "-Q",
                "1000000")
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return "dnsperf did not finish";
    }
    long cpu = serverCpuNanos.getAsLong() - cpu0;
    String text = Files.readString(log);
    String completed = grab(text, "Queries completed:").split(" ")[0];
    String perQuery = "";
    if (cpu0 >= 0 && cpu >= 0 && completed.matches("[0-9]+") && Long.parseLong(completed) > 0) {
      perQuery = String.format(", server cpu %.2f us/query", cpu / 1e3 / Long.parseLong(completed));
    }
    return grab(text, "Queries per second:")
        + " qps, avg latency "
        + grab(text, "Average Latency (s):")
        + " s, lost "
        + grab(text, "Queries lost:")
        + ", codes "
        + grab(text, "Response codes:")
        + perQuery;
  }

  private static String grab(String text, String key) {
    for (String line : text.split("\n")) {
      int i = line.indexOf(key);
      if (i >= 0) {
        return line.substring(i + key.length()).strip();
      }
    }
    return "?";
  }

  private @Nullable String knot(Path dir, Path queries, PrintWriter out)
      throws IOException, InterruptedException {
    Path kd = dir.resolve("knot");
    Files.createDirectories(kd.resolve("zones"));
    Files.createDirectories(kd.resolve("db"));
    Files.createDirectories(kd.resolve("run"));
    StringBuilder z = new StringBuilder();
    z.append("$ORIGIN bench.anf.\n$TTL 60\n");
    z.append("@ IN SOA ns1.bench.anf. hostmaster.bench.anf. 1 3600 900 604800 5\n");
    z.append("@ IN NS ns1\nns1 IN A 127.0.0.1\n");
    for (int i = 0; i < names; i++) {
      z.append(
          String.format("h%05d.b.a IN A 10.%d.%d.%d%n", i, i / 65536, (i / 256) % 256, i % 256));
      z.append(String.format("h%05d.b.a IN TXT \"alias=%s\"%n", i, alias(i)));
    }
    Files.writeString(kd.resolve("zones/bench.anf.zone"), z);
    int port = freePort();
    Files.writeString(
        kd.resolve("knot.conf"),
        "server:\n    rundir: \""
            + kd.resolve("run")
            + "\"\n    listen: 127.0.0.1@"
            + port
            + "\n"
            + "database:\n    storage: \""
            + kd.resolve("db")
            + "\"\n"
            + "template:\n  - id: default\n    storage: \""
            + kd.resolve("zones")
            + "\"\n"
            + "    semantic-checks: off\n    journal-content: none\n    zonefile-sync: -1\n"
            + "zone:\n  - domain: bench.anf.\n    file: \"bench.anf.zone\"\n");
    Process knotd;
    try {
      knotd =
          new ProcessBuilder("knotd", "-c", kd.resolve("knot.conf").toString())
              .redirectErrorStream(true)
              .redirectOutput(kd.resolve("knotd.log").toFile())
              .start();
    } catch (IOException e) {
      out.println("knotd not found (apt-get install -y knot): Knot reference skipped");
      return null;
    }
    try {
      if (!answers(port, "h00001.b.a.bench.anf", "10.0.0.1")) {
        out.println("knotd did not answer within 30 s: Knot reference skipped");
        return null;
      }
      ProcessHandle h = knotd.toHandle();
      return dnsperf(port, queries, dir.resolve("dnsperf-knot.txt"), dnsSeconds, () -> cpuNanos(h));
    } finally {
      knotd.destroy();
      if (!knotd.waitFor(10, TimeUnit.SECONDS)) {
        knotd.destroyForcibly();
      }
    }
  }
}
