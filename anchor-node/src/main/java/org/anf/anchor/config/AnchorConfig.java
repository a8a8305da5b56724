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
 * lineage_retain_entries: 0         # keep only this many newest lineage entries per scope; 0 keeps all
 * bounded_staleness_default_ms: 5000
 * </pre>
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
    long lineageRetainEntries,
    Duration boundedStalenessDefault) {

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
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, name + ": not valid YAML: " + e.getMessage());
    }
    if (!(root instanceof Map<?, ?> m)) {
      throw new AnfException(ErrorCode.INVALID_ARGUMENT, name + ": expected a mapping at the top");
    }
    Reader r = new Reader(m, name, "");
    String nodeId = r.string("node_id", null);
    Path dataDir = base.resolve(r.string("data_dir", null)).normalize();
    HostPort listen = HostPort.parse(r.string("listen", null), name + ": listen");
    HostPort raftListen = HostPort.parse(r.string("raft_listen", null), name + ": raft_listen");
    int metricsPort = (int) r.integer("metrics_port", 9400);
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
      tls =
          new Tls(
              base.resolve(tr.string("cert", null)),
              base.resolve(tr.string("key", null)),
              base.resolve(tr.string("ca", null)));
    }
    Map<?, ?> raft = m.get("raft") instanceof Map<?, ?> rm ? rm : Map.of();
    Reader rr = new Reader(raft, name, "raft.");
    Duration min = Duration.ofMillis(rr.integer("election_timeout_min_ms", 1000));
    Duration max = Duration.ofMillis(rr.integer("election_timeout_max_ms", 2000));
    if (min.isNegative() || min.isZero() || max.compareTo(min) <= 0) {
      throw bad(
          name + ": raft", "election_timeout_max_ms must be above election_timeout_min_ms > 0");
    }
    long snapEvery = rr.integer("snapshot_every_entries", 10_000);
    long segment = rr.integer("segment_size_bytes", 8L << 20);
    if (segment < 64 << 10) {
      throw bad(name + ": raft.segment_size_bytes", "at least 65536");
    }
    long retain = r.integer("lineage_retain_entries", 0);
    Duration bounded = Duration.ofMillis(r.integer("bounded_staleness_default_ms", 5000));
    return new AnchorConfig(
        nodeId,
        dataDir,
        listen,
        raftListen,
        metricsPort,
        List.copyOf(peers),
        tls,
        min,
        max,
        snapEvery,
        segment,
        retain,
        bounded);
  }

  private static AnfException bad(String where, String what) {
    return new AnfException(ErrorCode.INVALID_ARGUMENT, where + ": " + what);
  }

  private record Reader(Map<?, ?> m, String file, String prefix) {
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
