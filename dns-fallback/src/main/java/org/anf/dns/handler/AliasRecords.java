package org.anf.dns.handler;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Address;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * The DNS records of an alias's lookup result (ARCHITECTURE.md, "DNS mapping"):
 *
 * <ul>
 *   <li>A and AAAA: the record's endpoints whose host is an IP literal of that family,
 *       deduplicated, in record order. Host names are never looked up and give no address records.
 *   <li>TXT: {@code uid=<uid text>}, {@code alias=<canonical alias>} and, when the name asked was
 *       redirected (renamed, moved, rotated), {@code redirected-from=<alias asked>}; one record
 *       each, a string longer than 255 bytes split into several character-strings.
 *   <li>SRV: at the alias's own name, one per endpoint with a port (1 to 65535): priority 0, weight
 *       0, the port, and as target the endpoint's host name, or for an IP literal the alias's own
 *       name, whose A and AAAA records then go in the additional section. The endpoint protocol is
 *       not part of the name: {@code _service._proto} names are not served.
 *   <li>ANY: the TXT records only (a subset, as RFC 8482 allows).
 * </ul>
 *
 * Every record has the owner name asked and the TTL given; the records of one type form one RRset.
 */
public final class AliasRecords {
  /** A DNS character-string holds at most 255 bytes. */
  static final int MAX_TXT_STRING = 255;

  private AliasRecords() {}

  /** The answer and additional records for one query type; both empty means NODATA. */
  public record Answer(List<Record> answer, List<Record> additional) {
    public Answer {
      answer = List.copyOf(answer);
      additional = List.copyOf(additional);
    }

    static final Answer EMPTY = new Answer(List.of(), List.of());

    static Answer of(List<Record> answer) {
      return new Answer(answer, List.of());
    }

    public boolean isEmpty() {
      return answer.isEmpty();
    }
  }

  public static Answer forQuery(Name qname, int qtype, Alias asked, LookupResult r, long ttl) {
    List<Endpoint> endpoints = r.getRecord().getEndpointsList();
    return switch (qtype) {
      case Type.A -> Answer.of(addresses(qname, Address.IPv4, endpoints, ttl));
      case Type.AAAA -> Answer.of(addresses(qname, Address.IPv6, endpoints, ttl));
      case Type.TXT, Type.ANY -> Answer.of(txt(qname, asked, r, ttl));
      case Type.SRV -> srv(qname, endpoints, ttl);
      default -> Answer.EMPTY;
    };
  }

  /** True when the name asked is not where the object is bound now. */
  public static boolean redirected(Alias asked, LookupResult r) {
    if (r.getStatus() == LookupStatus.LOOKUP_STATUS_REDIRECTED) {
      return true;
    }
    // A cross-scope move answers EXACT at the new place: the labels tell it apart.
    return r.hasCanonicalAlias()
        && !r.getCanonicalAlias().getText().isEmpty()
        && !Alias.parse(r.getCanonicalAlias().getText()).equals(asked);
  }

  static List<Record> addresses(Name qname, int family, List<Endpoint> endpoints, long ttl) {
    List<Record> out = new ArrayList<>();
    for (byte[] ip : distinctIps(endpoints, family)) {
      out.add(address(qname, ip, ttl));
    }
    return out;
  }

  static List<Record> txt(Name qname, Alias asked, LookupResult r, long ttl) {
    List<Record> out = new ArrayList<>();
    if (r.hasUid()) {
      out.add(txtRecord(qname, ttl, "uid=" + Uid.fromProto(r.getUid()).text()));
    }
    String canonical =
        r.hasCanonicalAlias() && !r.getCanonicalAlias().getText().isEmpty()
            ? r.getCanonicalAlias().getText()
            : asked.text();
    out.add(txtRecord(qname, ttl, "alias=" + canonical));
    if (redirected(asked, r)) {
      out.add(txtRecord(qname, ttl, "redirected-from=" + asked.text()));
    }
    return out;
  }

  static Answer srv(Name qname, List<Endpoint> endpoints, long ttl) {
    Set<Record> answer = new LinkedHashSet<>();
    boolean ipTarget = false;
    for (Endpoint e : endpoints) {
      if (e.getPort() < 1 || e.getPort() > 0xFFFF) {
        continue;
      }
      Name target = qname;
      if (ipLiteral(e.getHost()) != null) {
        ipTarget = true;
      } else {
        Name host = hostName(e.getHost());
        if (host == null) {
          continue;
        }
        target = host;
      }
      answer.add(new SRVRecord(qname, DClass.IN, ttl, 0, 0, e.getPort(), target));
    }
    List<Record> additional = new ArrayList<>();
    if (ipTarget) {
      additional.addAll(addresses(qname, Address.IPv4, endpoints, ttl));
      additional.addAll(addresses(qname, Address.IPv6, endpoints, ttl));
    }
    return new Answer(new ArrayList<>(answer), additional);
  }

  /** The address bytes (4 or 16) of an IP literal host, or null for a host name. */
  static byte @Nullable [] ipLiteral(String host) {
    String h =
        host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    byte[] v4 = Address.toByteArray(h, Address.IPv4);
    return v4 != null ? v4 : Address.toByteArray(h, Address.IPv6);
  }

  private static List<byte[]> distinctIps(List<Endpoint> endpoints, int family) {
    int length = family == Address.IPv4 ? 4 : 16;
    Map<String, byte[]> ips = new LinkedHashMap<>();
    for (Endpoint e : endpoints) {
      byte[] ip = ipLiteral(e.getHost());
      if (ip != null && ip.length == length) {
        ips.putIfAbsent(HexFormat.of().formatHex(ip), ip);
      }
    }
    return new ArrayList<>(ips.values());
  }

  private static Record address(Name qname, byte[] ip, long ttl) {
    if (ip.length == 16) {
      return new AAAARecord(qname, DClass.IN, ttl, ip);
    }
    try {
      return new ARecord(qname, DClass.IN, ttl, InetAddress.getByAddress(ip));
    } catch (UnknownHostException e) {
      // getByAddress fails only for a wrong length, and the length was checked.
      throw new IllegalStateException("4-byte address refused", e);
    }
  }

  // An endpoint host that is not a valid absolute DNS name is left out rather than failing.
  private static @Nullable Name hostName(String host) {
    if (host.isEmpty()) {
      return null;
    }
    try {
      return Name.fromString(host.endsWith(".") ? host : host + ".");
    } catch (TextParseException e) {
      return null;
    }
  }

  private static Record txtRecord(Name qname, long ttl, String text) {
    List<String> strings = new ArrayList<>();
    for (int i = 0; i < text.length(); i += MAX_TXT_STRING) {
      strings.add(text.substring(i, Math.min(text.length(), i + MAX_TXT_STRING)));
    }
    return new TXTRecord(qname, DClass.IN, ttl, strings);
  }
}
