package org.anf.dns.fallback;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import org.anf.lineage.error.AnfException;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Address;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/**
 * Configuration of the legacy DNS fallback. The defaults allow nothing: with no allowed zones every
 * name is refused before any packet is sent.
 *
 * @param upstreams the resolvers to ask, in order (the next is asked when one fails, times out or
 *     answers SERVFAIL or REFUSED); IP literals only, so that the host's resolver configuration
 *     ({@code /etc/resolv.conf}) is never read or used. Default: none.
 * @param allowedZones the zones whose names may be asked, absolute and lower case ({@code "."}
 *     allows every name). Default: none.
 * @param requireDnssec accept only answers with the AD bit from the upstream, which must then be a
 *     validating resolver (Unbound, BIND, Knot Resolver) reached over a trusted path; anything else
 *     is INSECURE. Default: false.
 * @param queryTimeout how long one upstream has for one query, and again for its TCP retry after a
 *     truncated UDP answer. Default: 2 s.
 */
public record FallbackConfig(
    List<InetSocketAddress> upstreams,
    List<String> allowedZones,
    boolean requireDnssec,
    Duration queryTimeout) {
  public static final int DEFAULT_PORT = 53;
  public static final Duration DEFAULT_QUERY_TIMEOUT = Duration.ofSeconds(2);
  private static final Duration MAX_QUERY_TIMEOUT = Duration.ofMinutes(1);

  public static final FallbackConfig DEFAULT =
      new FallbackConfig(List.of(), List.of(), false, DEFAULT_QUERY_TIMEOUT);

  public FallbackConfig {
    upstreams = List.copyOf(upstreams);
    for (InetSocketAddress u : upstreams) {
      if (u.isUnresolved()) {
        throw AnfException.invalid(
            "upstreams", "upstream '" + u + "' must be an IP literal, not a host name");
      }
    }
    allowedZones = normaliseZones(allowedZones);
    if (queryTimeout.isNegative()
        || queryTimeout.isZero()
        || queryTimeout.compareTo(MAX_QUERY_TIMEOUT) > 0) {
      throw AnfException.invalid(
          "queryTimeout", "must be more than 0 and at most 1 minute, got " + queryTimeout);
    }
  }

  public FallbackConfig withUpstreams(String... hostPorts) {
    List<InetSocketAddress> u = new ArrayList<>();
    for (String hp : hostPorts) {
      u.add(upstream(hp));
    }
    return new FallbackConfig(u, allowedZones, requireDnssec, queryTimeout);
  }

  public FallbackConfig withUpstreams(List<InetSocketAddress> u) {
    return new FallbackConfig(u, allowedZones, requireDnssec, queryTimeout);
  }

  public FallbackConfig withAllowedZones(String... zones) {
    return new FallbackConfig(upstreams, List.of(zones), requireDnssec, queryTimeout);
  }

  public FallbackConfig withRequireDnssec(boolean require) {
    return new FallbackConfig(upstreams, allowedZones, require, queryTimeout);
  }

  public FallbackConfig withQueryTimeout(Duration timeout) {
    return new FallbackConfig(upstreams, allowedZones, requireDnssec, timeout);
  }

  /**
   * Parses an upstream: {@code 192.0.2.1}, {@code 192.0.2.1:5353}, {@code 2001:db8::1} or {@code
   * [2001:db8::1]:5353}; the port defaults to 53. Host names are refused: resolving one would go
   * through the host's resolver, which the fallback never uses.
   */
  public static InetSocketAddress upstream(String hostPort) {
    String s = hostPort.trim();
    String host = s;
    int port = DEFAULT_PORT;
    if (s.startsWith("[")) {
      int close = s.indexOf(']');
      if (close < 0) {
        throw badUpstream(hostPort, "missing ']' after an IPv6 literal");
      }
      host = s.substring(1, close);
      String rest = s.substring(close + 1);
      if (!rest.isEmpty()) {
        if (!rest.startsWith(":")) {
          throw badUpstream(hostPort, "expected ':' and a port after ']'");
        }
        port = port(hostPort, rest.substring(1));
      }
    } else if (s.indexOf(':') >= 0 && s.indexOf(':') == s.lastIndexOf(':')) {
      host = s.substring(0, s.indexOf(':'));
      port = port(hostPort, s.substring(s.indexOf(':') + 1));
    }
    byte[] ip = Address.toByteArray(host, Address.IPv4);
    if (ip == null) {
      ip = Address.toByteArray(host, Address.IPv6);
    }
    if (ip == null) {
      throw badUpstream(
          hostPort,
          "'"
              + host
              + "' is not an IP literal; upstreams are never looked up through the host's"
              + " resolver");
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(ip), port);
    } catch (UnknownHostException e) {
      throw badUpstream(hostPort, e.getMessage() == null ? "bad address" : e.getMessage());
    }
  }

  /** Normalises a zone: absolute, lower case ("Example.ORG" gives "example.org."). */
  public static String zone(String zone) {
    String z = zone.trim().toLowerCase(Locale.ROOT);
    if (z.isEmpty()) {
      throw AnfException.invalid("allowedZones", "a zone must not be empty (use \".\" for all)");
    }
    try {
      return Name.fromString(z.endsWith(".") ? z : z + ".").toString();
    } catch (TextParseException e) {
      throw AnfException.invalid(
          "allowedZones", "'" + zone + "' is not a DNS name: " + e.getMessage());
    }
  }

  private static List<String> normaliseZones(List<String> zones) {
    LinkedHashSet<String> out = new LinkedHashSet<>();
    for (String z : zones) {
      out.add(zone(z));
    }
    return List.copyOf(out);
  }

  private static int port(String input, String digits) {
    int p = -1;
    if (!digits.isEmpty() && digits.length() <= 5 && digits.chars().allMatch(Character::isDigit)) {
      p = Integer.parseInt(digits);
    }
    if (p < 1 || p > 0xFFFF) {
      throw badUpstream(input, "port '" + digits + "' is not a number from 1 to 65535");
    }
    return p;
  }

  private static AnfException badUpstream(String input, @Nullable String why) {
    return AnfException.invalid("upstreams", "upstream '" + input + "': " + why);
  }
}
