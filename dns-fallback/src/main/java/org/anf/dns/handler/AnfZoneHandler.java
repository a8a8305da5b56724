package org.anf.dns.handler;

import org.anf.lineage.alias.Alias;
import org.anf.lineage.alias.DnsNames;
import org.anf.lineage.error.AnfException;
import org.anf.proto.v1.LookupResult;
import org.anf.resolver.NameResolver;
import org.anf.resolver.ResolveOptions;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

/**
 * Answers names under the anf zone with authority, through a {@link NameResolver}; passes every
 * other name to the next handler.
 *
 * <p>Decisions (README.md, "Answers"):
 *
 * <ul>
 *   <li>EXACT, REDIRECTED and DNS_FALLBACK results give the records of {@link AliasRecords}, with
 *       the result's TTL (at most {@value #STALE_TTL_SECONDS} s when the result is stale, as RFC
 *       8767 suggests). A type with no records gives NODATA: NOERROR, no answer, the SOA.
 *   <li>Any reply built from a stale result carries an Extended DNS Error Stale Answer (or Stale
 *       NXDOMAIN Answer) with its age, for clients that speak EDNS.
 *   <li>NOT_FOUND, PARTIAL and REVOKED give NXDOMAIN with the SOA, its TTL the result's. A revoked
 *       name is NXDOMAIN rather than REFUSED because it does not resolve for anyone, and REFUSED
 *       would send resolvers to retry elsewhere. NOT_FOUND for a name that reached a scope of its
 *       own (nothing left unresolved) is NODATA instead: names exist below it.
 *   <li>A name under the zone that is not alias syntax (a {@code *} label, more than 64 labels)
 *       gets NXDOMAIN with the SOA and the zone's negative TTL, with the syntax error as an
 *       Extended DNS Error: the packet is well-formed DNS, so FORMERR would be wrong, and no such
 *       alias can ever be bound.
 *   <li>An object whose canonical alias has an opaque ({@code //}) segment is never served: such
 *       names are private to their device scope. It answers NXDOMAIN like any absent name.
 *   <li>Zone transfers and classes other than IN (and ANY) are REFUSED. The apex answers its SOA,
 *       and NODATA for any other type.
 *   <li>A resolver error of the caller kind (bad alias) is NXDOMAIN as above; any other failure is
 *       SERVFAIL, left to the server to write.
 * </ul>
 */
public final class AnfZoneHandler implements DnsHandler {
  /** TTL ceiling for answers marked stale (RFC 8767, section 4). */
  public static final int STALE_TTL_SECONDS = 30;

  private static final Logger log = LoggerFactory.getLogger(AnfZoneHandler.class);

  private final AnfZone zone;
  private final NameResolver resolver;
  private final ResolveOptions options;
  private final DnsHandler next;

  public AnfZoneHandler(
      AnfZone zone, NameResolver resolver, ResolveOptions options, DnsHandler next) {
    this.zone = zone;
    this.resolver = resolver;
    this.options = options;
    this.next = next;
  }

  @Override
  public String name() {
    return "anf";
  }

  @Override
  public int serve(Message query, DnsWriter writer) {
    Record q = query.getQuestion();
    Name qname = q.getName();
    if (!zone.contains(qname)) {
      return next.serve(query, writer);
    }
    if (q.getDClass() != DClass.IN && q.getDClass() != DClass.ANY) {
      return Rcode.REFUSED;
    }
    int qtype = q.getType();
    if (qtype == Type.AXFR || qtype == Type.IXFR) {
      return Rcode.REFUSED;
    }
    if (qname.equals(zone.origin())) {
      return apex(query, qtype, writer);
    }
    Alias asked;
    try {
      asked = DnsNames.fromDns(qname.toString(), zone.text());
    } catch (AnfException e) {
      return negative(query, Rcode.NXDOMAIN, zone.negativeTtlSeconds(), e.getMessage(), writer);
    }
    if (asked == null) {
      // Under the zone by DNS labels, not by text (an escaped dot): not a name of ours.
      return next.serve(query, writer);
    }
    LookupResult r;
    try {
      r = resolver.resolve(asked.text(), options);
    } catch (AnfException e) {
      if (e.code().isCallerError()) {
        return negative(query, Rcode.NXDOMAIN, zone.negativeTtlSeconds(), e.getMessage(), writer);
      }
      log.warn("anf: resolving {} ({}) failed: {}", asked, qname, e.getMessage());
      return Rcode.SERVFAIL;
    }
    return answer(query, qname, qtype, asked, r, writer);
  }

  private int answer(
      Message query, Name qname, int qtype, Alias asked, LookupResult r, DnsWriter writer) {
    if (r.getFreshness().getStale()) {
      // Staleness is never silent: say it (RFC 8914 Stale Answer) to clients that speak EDNS.
      return answerAsIs(query, qname, qtype, asked, r, staleMarked(r, writer));
    }
    return answerAsIs(query, qname, qtype, asked, r, writer);
  }

  private static DnsWriter staleMarked(LookupResult r, DnsWriter writer) {
    String text = "anf: stale, " + r.getFreshness().getAgeMs() + " ms old";
    return new DnsWriter() {
      @Override
      public Transport transport() {
        return writer.transport();
      }

      @Override
      public void write(Message reply) {
        int code =
            reply.getRcode() == Rcode.NXDOMAIN
                ? ExtendedErrorCodeOption.STALE_NXDOMAIN_ANSWER
                : ExtendedErrorCodeOption.STALE_ANSWER;
        Replies.addExtendedError(reply, code, text);
        writer.write(reply);
      }

      @Override
      public boolean written() {
        return writer.written();
      }
    };
  }

  private int answerAsIs(
      Message query, Name qname, int qtype, Alias asked, LookupResult r, DnsWriter writer) {
    long ttl = Integer.toUnsignedLong(r.getTtlSeconds());
    switch (r.getStatus()) {
      case LOOKUP_STATUS_EXACT, LOOKUP_STATUS_REDIRECTED, LOOKUP_STATUS_DNS_FALLBACK -> {
        if (hasOpaqueCanonical(r)) {
          return negative(query, Rcode.NXDOMAIN, ttl, null, writer);
        }
        long positiveTtl = r.getFreshness().getStale() ? Math.min(ttl, STALE_TTL_SECONDS) : ttl;
        return positive(query, qname, qtype, asked, r, positiveTtl, writer);
      }
      case LOOKUP_STATUS_NOT_FOUND -> {
        boolean existingNode =
            r.getRemainingCount() == 0
                && r.hasResolved()
                && !r.getResolved().getText().isEmpty()
                && Alias.parse(r.getResolved().getText()).equals(asked);
        return negative(query, existingNode ? Rcode.NOERROR : Rcode.NXDOMAIN, ttl, null, writer);
      }
      case LOOKUP_STATUS_PARTIAL -> {
        return negative(query, Rcode.NXDOMAIN, ttl, null, writer);
      }
      case LOOKUP_STATUS_REVOKED -> {
        return negative(query, Rcode.NXDOMAIN, ttl, "anf: revoked", writer);
      }
      default -> {
        log.warn(
            "anf: resolver gave {} for {} ({}), not a final answer", r.getStatus(), asked, qname);
        return Rcode.SERVFAIL;
      }
    }
  }

  private int positive(
      Message query,
      Name qname,
      int qtype,
      Alias asked,
      LookupResult r,
      long ttl,
      DnsWriter writer) {
    AliasRecords.Answer a = AliasRecords.forQuery(qname, qtype, asked, r, ttl);
    if (a.isEmpty()) {
      return negative(query, Rcode.NOERROR, ttl, null, writer);
    }
    Message reply = authoritative(query, Rcode.NOERROR);
    a.answer().forEach(rec -> reply.addRecord(rec, Section.ANSWER));
    a.additional().forEach(rec -> reply.addRecord(rec, Section.ADDITIONAL));
    writer.write(reply);
    return Rcode.NOERROR;
  }

  private int apex(Message query, int qtype, DnsWriter writer) {
    if (qtype != Type.SOA && qtype != Type.ANY) {
      return negative(query, Rcode.NOERROR, zone.negativeTtlSeconds(), null, writer);
    }
    Message reply = authoritative(query, Rcode.NOERROR);
    reply.addRecord(zone.soa(zone.negativeTtlSeconds()), Section.ANSWER);
    writer.write(reply);
    return Rcode.NOERROR;
  }

  /** NXDOMAIN, or NODATA for NOERROR: no answer, the SOA in authority with the negative TTL. */
  private int negative(Message query, int rcode, long ttl, @Nullable String why, DnsWriter writer) {
    Message reply = authoritative(query, rcode);
    reply.addRecord(zone.soa(ttl), Section.AUTHORITY);
    if (why != null) {
      Replies.addExtendedError(reply, ExtendedErrorCodeOption.OTHER, why);
    }
    writer.write(reply);
    return rcode;
  }

  private static Message authoritative(Message query, int rcode) {
    Message reply = Replies.to(query, rcode);
    reply.getHeader().setFlag(Flags.AA);
    return reply;
  }

  private static boolean hasOpaqueCanonical(LookupResult r) {
    return r.hasCanonicalAlias() && r.getCanonicalAlias().getText().contains("//");
  }
}
