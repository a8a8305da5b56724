package org.anf.anchor.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * An anchor node's configuration ({@code anchor.yaml}). Every key, its unit and its default:
 *
 * <pre>
 * node_id: a1                       # this node's id, unique in the fabric (required)
 * data_dir: ./anf-data/a1           # RocksDB, Raft log and snapshots (required)
 * listen: 127.0.0.1:7400            # anchor gRPC services (required)
 * raft_listen: 127.0.0.1:7500       # Raft traffic between anchors (required)
 * metrics_port: 9400                # Prometheus /metrics on 127.0.0.1; 0 picks a port, -1 disables
 * peers:                            # every anchor node of the fabric, this one included
 *   - {id: a1, address: 127.0.0.1:7400, raft_address: 127.0.0.1:7500}
 * tls:                              # optional; when set, anchors authenticate one another (mTLS)
 *   cert: a1.pem                    #   this node's certificate chain (PEM)
 *   key: a1.key.pem                 #   its private key (PKCS#8 PEM)
 *   ca: ca.pem                      #   the CA that signs every anchor's certificate
 * raft:
 *   election_timeout_min_ms: 1000
 *   election_timeout_max_ms: 2000
 *   snapshot_every_entries: 10000   # take a snapshot after this many applied entries; 0 = only on demand
 *   segment_size_bytes: 8388608     # Raft log segment size; the log is purged a segment at a time
 *   purge_gap: 1024                 # purge the log after a snapshot only once it would drop at least
 *                                   #   this many entries (Ratis's default)
 *   purge_up_to_snapshot_index: true  # purge up to the snapshot even if an anchor still needs older
 *                                   #   entries (it then installs the snapshot); false keeps what the
 *                                   #   slowest anchor has not committed yet
 * lineage_retain_entries: 0         # keep only this many newest lineage entries per scope; 0 keeps all
 * bounded_staleness_default_ms: 5000
 * </pre>
 *
 * <p>A key not listed here is refused, naming it and the keys known where it stands.
 */
public record AnchorConfig(
    String nodeId,
    Path dataDir,
    HostPort listen,
    HostPort raftListen,
    int metricsPort,
    List<Peer> peers,
    @Nullable Tls tls,
    Duration electionTimeoutMin,
    Duration electionTimeoutMax,
    long snapshotEveryEntries,
    long segmentSizeBytes,
    long purgeGap,
    boolean purgeUpToSnapshotIndex,
    long lineageRetainEntries,
    Duration boundedStalenessDefault) {

  private static final List<String> KEYS =
      List.of(
          "node_id",
          "data_dir",
          "listen",
          "raft_listen",
          "metrics_port",
          "peers",
          "tls",
          "raft",
          "lineage_retain_entries",
          "bounded_staleness_default_ms");
  private static final List<String> PEER_KEYS = List.of("id", "address", "raft_address");
  private static final List<String> TLS_KEYS = List.of("cert", "key", "ca");
  private static final List<String> RAFT_KEYS =
      List.of(
          "election_timeout_min_ms",
          "election_timeout_max_ms",
          "snapshot_every_entries",
          "segment_size_bytes",
          "purge_gap",
          "purge_up_to_snapshot_index");

  public record Peer(String id, HostPort address, HostPort raftAddress) {}

  public record Tls(Path cert, Path key, Path ca) {}

  public record HostPort(String host, int port) {
    public static HostPort parse(String s, String where) {
      int colon = s.lastIndexOf(':');
      if (colon <= 0 || colon == s.length() - 1) {
        throw bad(where, "expected host:port, got '" + s + "'");
      }
      String host = s.substring(0, colon);
      if (host.startsWith("[") && host.endsWith("]")) {
        host = host.substring(1, host.length() - 1);
      }
      int port;
      try {
        port = Integer.parseInt(s.substring(colon + 1));
      } catch (NumberFormatException e) {
        throw bad(where, "port '" + s.substring(colon + 1) + "' is not a number");
      }
      if (port < 0 || port > 65535) {
        throw bad(where, "port " + port + " is outside 0..65535");
      }
      return new HostPort(host, port);
    }

    @Override
    public String toString() {
      return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }
  }

  public static AnchorConfig load(Path file) {
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "cannot read " + file + ": " + e.getMessage());
    }
    Path base = file.toAbsolutePath().getParent();
    return parse(text, base == null ? Path.of(".") : base, file.getFileName().toString());
  }

  /** Parses YAML; relative paths resolve against {@code base}; errors name the key. */
  public static AnchorConfig parse(String yaml, Path base, String name) {
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    } catch (RuntimeException e) {
      throw new AnfException(ErrorCode.INVALID_ARGUMENT, name + ": not valid YAML" + where(e));
    }
    if (!(root instanceof Map<?, ?> m)) {
      throw new AnfException(ErrorCode.INVALID_ARGUMENT, name + ": expected a mapping at the top");
    }
    Reader r = new Reader(m, name, "");
    r.onlyKnown(KEYS);
    String nodeId = r.string("node_id", null);
    Path dataDir = base.resolve(r.string("data_dir", null)).normalize();
    HostPort listen = HostPort.parse(r.string("listen", null), name + ": listen");
    HostPort raftListen = HostPort.parse(r.string("raft_listen", null), name + ": raft_listen");
    long metricsPort = r.integer("metrics_port", 9400);
    if (metricsPort > 65535) {
      throw bad(name + ": metrics_port", "port " + metricsPort + " is above 65535");
    }
    List<Peer> peers = new ArrayList<>();
    Object ps = m.get("peers");
    if (ps != null) {
      if (!(ps instanceof List<?> list)) {
        throw bad(name + ": peers", "expected a list");
      }
      for (int i = 0; i < list.size(); i++) {
        if (!(list.get(i) instanceof Map<?, ?> pm)) {
          throw bad(name + ": peers[" + i + "]", "expected a mapping");
        }
        Reader pr = new Reader(pm, name, "peers[" + i + "].");
        pr.onlyKnown(PEER_KEYS);
        peers.add(
            new Peer(
                pr.string("id", null),
                HostPort.parse(pr.string("address", null), name + ": peers[" + i + "].address"),
                HostPort.parse(
                    pr.string("raft_address", null), name + ": peers[" + i + "].raft_address")));
      }
    }
    if (peers.stream().noneMatch(p -> p.id().equals(nodeId))) {
      peers.add(0, new Peer(nodeId, listen, raftListen));
    }
    Tls tls = null;
    Object t = m.get("tls");
    if (t != null) {
      if (!(t instanceof Map<?, ?> tm)) {
        throw bad(name + ": tls", "expected a mapping with cert, key and ca");
      }
      Reader tr = new Reader(tm, name, "tls.");
      tr.onlyKnown(TLS_KEYS);
      tls =
          new Tls(
              base.resolve(tr.string("cert", null)),
              base.resolve(tr.string("key", null)),
              base.resolve(tr.string("ca", null)));
    }
    Object rv = m.get("raft");
    if (rv != null && !(rv instanceof Map)) {
      throw bad(name + ": raft", "expected a mapping");
    }
    Map<?, ?> raft = rv instanceof Map<?, ?> rm ? rm : Map.of();
    Reader rr = new Reader(raft, name, "raft.");
    rr.onlyKnown(RAFT_KEYS);
    Duration min = Duration.ofMillis(rr.integer("election_timeout_min_ms", 1000));
    Duration max = Duration.ofMillis(rr.integer("election_timeout_max_ms", 2000));
    if (min.isNegative() || min.isZero() || max.compareTo(min) <= 0) {
      throw bad(
          name + ": raft", "election_timeout_max_ms must be above election_timeout_min_ms > 0");
    }
    long snapEvery = rr.integer("snapshot_every_entries", 10_000);
    if (snapEvery < 0) {
      throw bad(name + ": raft.snapshot_every_entries", "0 (on demand only) or more");
    }
    long segment = rr.integer("segment_size_bytes", 8L << 20);
    if (segment < 64 << 10) {
      throw bad(name + ": raft.segment_size_bytes", "at least 65536");
    }
    long purgeGap = rr.integer("purge_gap", 1024);
    if (purgeGap < 1 || purgeGap > Integer.MAX_VALUE) {
      throw bad(name + ": raft.purge_gap", "1 to " + Integer.MAX_VALUE + ", got " + purgeGap);
    }
    boolean purgeUpToSnapshot = rr.bool("purge_up_to_snapshot_index", true);
    long retain = r.integer("lineage_retain_entries", 0);
    if (retain < 0) {
      throw bad(name + ": lineage_retain_entries", "0 (keep all) or more");
    }
    long boundedMs = r.integer("bounded_staleness_default_ms", 5000);
    if (boundedMs < 1) {
      throw bad(name + ": bounded_staleness_default_ms", "at least 1");
    }
    Duration bounded = Duration.ofMillis(boundedMs);
    return new AnchorConfig(
        nodeId,
        dataDir,
        listen,
        raftListen,
        (int) Math.max(-1, metricsPort),
        List.copyOf(peers),
        tls,
        min,
        max,
        snapEvery,
        segment,
        purgeGap,
        purgeUpToSnapshot,
        retain,
        bounded);
  }

  /** SnakeYAML's error on one line: where, then what. */
  private static String where(RuntimeException e) {
    if (e instanceof MarkedYAMLException m && m.getProblemMark() != null) {
      return " at line "
          + (m.getProblemMark().getLine() + 1)
          + ", column "
          + (m.getProblemMark().getColumn() + 1)
          + ": "
          + m.getProblem();
    }
    return ": " + String.valueOf(e.getMessage()).replaceAll("\\s*\\n\\s*", " ").strip();
  }

  private static AnfException bad(String where, String what) {
    return new AnfException(ErrorCode.INVALID_ARGUMENT, where + ": " + what);
  }

  private record Reader(Map<?, ?> m, String file, String prefix) {
    void onlyKnown(List<String> known) {
      for (Object k : m.keySet()) {
        if (!known.contains(String.valueOf(k))) {
          throw bad(
              file + ": " + prefix + k, "unknown key (known: " + String.join(", ", known) + ")");
        }
      }
    }

    boolean bool(String key, boolean dflt) {
      Object v = m.get(key);
      if (v == null) {
        return dflt;
      }
      if (v instanceof Boolean b) {
        return b;
      }
      throw bad(file + ": " + prefix + key, "expected true or false, got '" + v + "'");
    }

    String string(String key, @Nullable String dflt) {
      Object v = m.get(key);
      if (v == null) {
        if (dflt == null) {
          throw bad(file + ": " + prefix + key, "required");
        }
        return dflt;
      }
      if (v instanceof Map || v instanceof List) {
        throw bad(file + ": " + prefix + key, "expected a value, got " + v);
      }
      return v.toString();
    }

    long integer(String key, long dflt) {
      Object v = m.get(key);
      if (v == null) {
        return dflt;
      }
      if (v instanceof Number n) {
        return n.longValue();
      }
      throw bad(file + ": " + prefix + key, "expected a number, got '" + v + "'");
    }
  }
}
