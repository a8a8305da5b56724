package org.anf.anchor.gateway;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.anf.dns.fallback.FallbackConfig;
import org.anf.dns.gateway.GatewayConfig;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.resolver.ResolverConfig;
import org.jspecify.annotations.Nullable;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * {@code resolver.yaml}: where the resolver finds the fabric, where it serves, and what legacy DNS
 * it may ask. Example:
 *
 * <pre>
 * seeds: [127.0.0.1:7400, 127.0.0.1:7401]   # anchors of the root scope (required)
 * listen: 127.0.0.1:7450                    # ResolverService gRPC (default)
 * cache_dir: resolver-cache                 # persisted cache (default; relative to the file)
 * metrics_port: 9450                        # Prometheus /metrics; -1 disables (default 9450)
 * request_timeout_ms: 2000
 * hedge_delay_ms: 50
 * max_stale_s: 86400
 * dns:                                      # the DNS gateway; omit to run none
 *   listen: 127.0.0.1:8553
 *   zone: anf.
 * fallback:                                 # legacy DNS for allowed zones; omit for none
 *   upstreams: [127.0.0.1:5353]
 *   allowed_zones: [example.org.]
 *   require_dnssec: false
 * </pre>
 */
public record ResolverProcessConfig(
    ResolverConfig resolver,
    String listenHost,
    int listenPort,
    int metricsPort,
    @Nullable GatewayConfig dns,
    @Nullable FallbackConfig fallback) {

  private static final Set<String> KEYS =
      Set.of(
          "seeds",
          "listen",
          "cache_dir",
          "metrics_port",
          "request_timeout_ms",
          "hedge_delay_ms",
          "max_stale_s",
          "dns",
          "fallback");

  public static ResolverProcessConfig load(Path file) {
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

  public static ResolverProcessConfig parse(String yaml, Path base, String name) {
    Object root;
    try {
      root = new Yaml(new SafeConstructor(new LoaderOptions())).load(yaml);
    } catch (RuntimeException e) {
      throw bad(name, "not valid YAML: " + e.getMessage());
    }
    if (!(root instanceof Map<?, ?> m)) {
      throw bad(name, "expected a mapping at the top");
    }
    for (Object k : m.keySet()) {
      if (!KEYS.contains(String.valueOf(k))) {
        throw bad(name + ": " + k, "unknown key (known: " + String.join(", ", KEYS) + ")");
      }
    }
    List<String> seeds = strings(m, "seeds", name);
    for (String s : seeds) {
      hostPort(s, name + ": seeds");
    }
    String[] listen = hostPort(str(m, "listen", "127.0.0.1:7450"), name + ": listen");
    Path cacheDir = base.resolve(str(m, "cache_dir", "resolver-cache")).normalize();
    ResolverConfig rc = ResolverConfig.of(seeds).withCacheDir(cacheDir);
    rc =
        rc.withTimeouts(
                Duration.ofMillis(num(m, "request_timeout_ms", 2000, name)),
                Duration.ofMillis(num(m, "hedge_delay_ms", 50, name)),
                rc.avoidFor())
            .withMaxStale(Duration.ofSeconds(num(m, "max_stale_s", 86_400, name)));
    GatewayConfig dns = null;
    if (m.get("dns") instanceof Map<?, ?> d) {
      String[] hp = hostPort(str(d, "listen", "127.0.0.1:8553"), name + ": dns.listen");
      dns =
          GatewayConfig.DEFAULT
              .withListen(hp[0], Integer.parseInt(hp[1]))
              .withZone(str(d, "zone", "anf."));
    } else if (m.get("dns") != null) {
      throw bad(name + ": dns", "expected a mapping with listen and zone");
    }
    FallbackConfig fb = null;
    if (m.get("fallback") instanceof Map<?, ?> f) {
      List<InetSocketAddress> ups = new ArrayList<>();
      for (String u : strings(f, "upstreams", name + ": fallback")) {
        String[] hp = hostPort(u, name + ": fallback.upstreams");
        String host = hp[0].replaceAll("^\\[|\\]$", "");
        if (!host.matches("[0-9a-fA-F:.]+")) {
          throw bad(name + ": fallback.upstreams", "'" + u + "' must be an IP literal and port");
        }
        try {
          // A literal: no name lookup happens.
          ups.add(
              new InetSocketAddress(InetAddress.getAllByName(host)[0], Integer.parseInt(hp[1])));
        } catch (java.net.UnknownHostException e) {
          throw bad(name + ": fallback.upstreams", "'" + u + "' is not an IP literal");
        }
      }
      fb =
          FallbackConfig.DEFAULT
              .withUpstreams(ups)
              .withAllowedZones(
                  strings(f, "allowed_zones", name + ": fallback").toArray(String[]::new))
              .withRequireDnssec(Boolean.parseBoolean(str(f, "require_dnssec", "false")));
    } else if (m.get("fallback") != null) {
      throw bad(name + ": fallback", "expected a mapping with upstreams and allowed_zones");
    }
    return new ResolverProcessConfig(
        rc,
        listen[0],
        Integer.parseInt(listen[1]),
        (int) num(m, "metrics_port", 9450, name),
        dns,
        fb);
  }

  private static String str(Map<?, ?> m, String key, String dflt) {
    Object v = m.get(key);
    return v == null ? dflt : v.toString();
  }

  private static long num(Map<?, ?> m, String key, long dflt, String name) {
    Object v = m.get(key);
    if (v == null) {
      return dflt;
    }
    if (v instanceof Number n) {
      return n.longValue();
    }
    throw bad(name + ": " + key, "expected a number, got '" + v + "'");
  }

  private static List<String> strings(Map<?, ?> m, String key, String name) {
    Object v = m.get(key);
    if (!(v instanceof List<?> l) || l.isEmpty()) {
      throw bad(name + ": " + key, "required: a non-empty list");
    }
    List<String> out = new ArrayList<>();
    l.forEach(x -> out.add(String.valueOf(x)));
    return out;
  }

  private static String[] hostPort(String s, String where) {
    int c = s.lastIndexOf(':');
    if (c <= 0) {
      throw bad(where, "'" + s + "' is not host:port");
    }
    try {
      int p = Integer.parseInt(s.substring(c + 1));
      if (p < 0 || p > 65535) {
        throw new NumberFormatException();
      }
    } catch (NumberFormatException e) {
      throw bad(where, "'" + s + "': port must be 0..65535");
    }
    return new String[] {s.substring(0, c), s.substring(c + 1)};
  }

  private static AnfException bad(String where, String what) {
    return new AnfException(ErrorCode.INVALID_ARGUMENT, where + ": " + what);
  }
}
