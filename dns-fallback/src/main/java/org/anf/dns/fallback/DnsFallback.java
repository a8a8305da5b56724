package org.anf.dns.fallback;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.anf.dns.handler.Forwarder;
import org.anf.dns.handler.Replies;
import org.anf.lineage.error.AnfException;
import org.anf.resolver.Fallback;
import org.anf.resolver.FallbackAnswer;
import org.anf.resolver.FallbackAnswer.Outcome;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.ExtendedErrorCodeOption;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.TextParseException;
import org.xbill.DNS.Type;

/**
 * Legacy DNS for the names the fabric cannot answer, limited to allowed zones.
 *
 * <ul>
 *   <li>A name outside every allowed zone is refused before any packet is sent.
 *   <li>Upstreams come from {@link FallbackConfig} only (IP literals); the host's resolver and
 *       {@code /etc/resolv.conf} are never consulted. They are asked in order over UDP with
 *       dnsjava's {@link SimpleResolver}, which retries over TCP when an answer is truncated; the
 *       next upstream is asked when one times out, fails, or answers SERVFAIL or REFUSED.
 *   <li>With {@link FallbackConfig#requireDnssec()}, only answers carrying the upstream's AD bit
 *       are accepted (the upstream must be a validating resolver); anything else is INSECURE.
 *   <li>Every fallback increments {@code anf_dns_fallbacks{outcome=...}} and logs one INFO line
 *       (name, zone, outcome, upstream, ms).
 * </ul>
 *
 * <p>{@link #resolve} serves the resolver (A, AAAA and TXT, asked in parallel); {@link #forward}
 * serves the DNS gateway for names outside the anf zone. Both are thread-safe and never throw for a
 * DNS outcome.
 */
public final class DnsFallback implements Fallback, Forwarder {
  private static final Logger log = LoggerFactory.getLogger(DnsFallback.class);

  /** CNAMEs followed inside one upstream answer before giving up on it. */
  static final int MAX_CNAME_HOPS = 8;

  // dnsjava completes its futures on its I/O thread; running our short continuations there keeps
  // them off ForkJoinPool.commonPool, which a blocked caller could starve on 2 cores.
  private static final Executor DIRECT = Runnable::run;

  private static final int[] RESOLVE_TYPES = {Type.A, Type.AAAA, Type.TXT};

  private final FallbackConfig config;
  private final List<Name> zones;
  private final List<SimpleResolver> resolvers = new ArrayList<>();
  private final Map<Outcome, Counter> outcomes = new EnumMap<>(Outcome.class);
  private final long waitMillis;

  /** One upstream's answer to one query. */
  private record Exchange(Message response, InetSocketAddress upstream) {}

  /** A final answer, or why there is none (from one upstream, or for one query type). */
  private record Attempt(@Nullable Exchange exchange, String why) {}

  /** Every upstream failed; the message names each one and why. */
  static final class UpstreamsFailed extends Exception {
    private static final long serialVersionUID = 1L;

    UpstreamsFailed(String message) {
      super(message);
    }
  }

  public DnsFallback(FallbackConfig config, MeterRegistry registry) {
    if (!config.allowedZones().isEmpty() && config.upstreams().isEmpty()) {
      throw AnfException.invalid(
          "upstreams",
          "allowed zones " + config.allowedZones() + " are configured but no upstream to ask");
    }
    this.config = config;
    this.zones = parseZones(config.allowedZones());
    for (InetSocketAddress u : config.upstreams()) {
      SimpleResolver r = new SimpleResolver(u);
      r.setTimeout(config.queryTimeout());
      resolvers.add(r);
    }
    // Each upstream may take its UDP timeout and its TCP retry's; one more second of slack.
    this.waitMillis = config.upstreams().size() * 2L * config.queryTimeout().toMillis() + 1_000L;
    for (Outcome o : Outcome.values()) {
      outcomes.put(
          o,
          Counter.builder("anf_dns_fallbacks")
              .description("Legacy DNS fallbacks by outcome")
              .tag("outcome", o.name().toLowerCase(Locale.ROOT))
              .register(registry));
    }
  }

  public FallbackConfig config() {
    return config;
  }

  /** The most specific allowed zone that {@code name} is in, or null when it is in none. */
  public @Nullable Name zoneOf(Name name) {
    for (Name z : zones) {
      if (name.subdomain(z)) {
        return z;
      }
    }
    return null;
  }

  @Override
  public boolean allows(Name name) {
    return zoneOf(name) != null;
  }

  @Override
  public FallbackAnswer resolve(String dnsName) {
    long start = System.nanoTime();
    Name name;
    try {
      name = Name.fromString(dnsName.endsWith(".") ? dnsName : dnsName + ".");
    } catch (TextParseException e) {
      return done(
          "resolve",
          dnsName,
          FallbackAnswer.refused("'" + dnsName + "' is not a DNS name: " + e.getMessage()),
          "-",
          start);
    }
    Name zone = zoneOf(name);
    if (zone == null) {
      return done("resolve", name.toString(), refusal(name), "-", start);
    }
    List<CompletableFuture<Attempt>> asks = new ArrayList<>();
    for (int type : RESOLVE_TYPES) {
      String t = Type.string(type);
      asks.add(
          ask(query(name, type, DClass.IN, true), 0, "")
              .handle(
                  (@Nullable Exchange x, @Nullable Throwable error) ->
                      x != null ? new Attempt(x, "") : new Attempt(null, t + ": " + why(error))));
    }
    String timeout = await(CompletableFuture.allOf(asks.toArray(new CompletableFuture<?>[0])));
    List<Attempt> attempts = new ArrayList<>();
    for (int i = 0; i < asks.size(); i++) {
      CompletableFuture<Attempt> f = asks.get(i);
      attempts.add(
          f.isDone()
              ? f.join()
              : new Attempt(null, Type.string(RESOLVE_TYPES[i]) + ": " + timeout));
    }
    FallbackAnswer answer = classify(name, zone, attempts);
    return done("resolve", name.toString(), answer, upstreams(attempts), start);
  }

  @Override
  public Message forward(Message query) {
    long start = System.nanoTime();
    Record q = query.getQuestion();
    if (q == null) {
      return Replies.to(query, Rcode.FORMERR);
    }
    Name name = q.getName();
    Name zone = zoneOf(name);
    if (zone == null) {
      done("forward", name.toString(), refusal(name), "-", start);
      return Replies.to(query, Rcode.REFUSED);
    }
    if (q.getType() == Type.AXFR || q.getType() == Type.IXFR) {
      done(
          "forward",
          name.toString(),
          FallbackAnswer.refused("zone transfers are not forwarded"),
          "-",
          start);
      return Replies.to(query, Rcode.REFUSED);
    }
    return relayFromUpstreams(query, q, zone, start);
  }

  private Message relayFromUpstreams(Message query, Record q, Name zone, long start) {
    String name = q.getName().toString();
    CompletableFuture<Exchange> ask =
        ask(
            query(q.getName(), q.getType(), q.getDClass(), query.getHeader().getFlag(Flags.RD)),
            0,
            "");
    String failure = await(ask);
    if (failure != null) {
      done("forward", name, failed(zone, failure), "none", start);
      Message reply = Replies.to(query, Rcode.SERVFAIL);
      Replies.addExtendedError(reply, ExtendedErrorCodeOption.NETWORK_ERROR, failure);
      return reply;
    }
    Exchange x = ask.join();
    boolean validated = x.response().getHeader().getFlag(Flags.AD);
    if (config.requireDnssec() && !validated) {
      String why = insecure(x, q);
      done("forward", name, insecureAnswer(zone, why), hostPort(x.upstream()), start);
      Message reply = Replies.to(query, Rcode.SERVFAIL);
      Replies.addExtendedError(reply, ExtendedErrorCodeOption.DNSSEC_INDETERMINATE, why);
      return reply;
    }
    Message reply = relay(query, x.response());
    Outcome outcome =
        reply.getRcode() == Rcode.NOERROR && !reply.getSection(Section.ANSWER).isEmpty()
            ? Outcome.ANSWERED
            : Outcome.NOT_FOUND;
    String rcode = Rcode.string(reply.getRcode());
    FallbackAnswer summary =
        new FallbackAnswer(outcome, List.of(), List.of(), zone.toString(), validated, 0, rcode);
    done("forward", name, summary, hostPort(x.upstream()), start);
    return reply;
  }

  // -- asking upstreams --

  private static Message query(Name name, int type, int dclass, boolean recursionDesired) {
    Message m = Message.newQuery(Record.newRecord(name, type, dclass));
    if (!recursionDesired) {
      m.getHeader().unsetFlag(Flags.RD);
    }
    // AD in a query asks a validating upstream to report validation (RFC 6840, section 5.7).
    m.getHeader().setFlag(Flags.AD);
    return m;
  }

  /** Asks upstream {@code index}, then the next ones in order until one gives a final answer. */
  private CompletableFuture<Exchange> ask(Message query, int index, String failures) {
    if (index >= resolvers.size()) {
      return CompletableFuture.failedFuture(
          new UpstreamsFailed("no upstream answered " + describe(query) + ": " + failures));
    }
    InetSocketAddress upstream = config.upstreams().get(index);
    CompletableFuture<Message> sent;
    try {
      sent = resolvers.get(index).sendAsync(query, DIRECT).toCompletableFuture();
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return sent.handle(
            (Message response, @Nullable Throwable error) ->
                error == null && isFinal(response)
                    ? new Attempt(new Exchange(response, upstream), "")
                    : new Attempt(
                        null,
                        error != null
                            ? reason(error)
                            : "answered " + Rcode.string(response.getRcode())))
        .thenCompose(
            a -> {
              Exchange x = a.exchange();
              if (x != null) {
                return CompletableFuture.completedFuture(x);
              }
              String all =
                  (failures.isEmpty() ? "" : failures + "; ") + hostPort(upstream) + " " + a.why();
              return ask(query, index + 1, all);
            });
  }

  // NOERROR and NXDOMAIN are answers; SERVFAIL, REFUSED and the rest send us to the next upstream.
  private static boolean isFinal(Message response) {
    int rcode = response.getRcode();
    return rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN;
  }

  /** Waits for {@code f}; returns null when it completed, else why it did not. */
  private @Nullable String await(CompletableFuture<?> f) {
    try {
      f.get(waitMillis, TimeUnit.MILLISECONDS);
      return null;
    } catch (ExecutionException e) {
      return reason(e);
    } catch (TimeoutException e) {
      f.cancel(true);
      return "no upstream answered within " + waitMillis + " ms";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      f.cancel(true);
      return "interrupted while waiting for upstreams";
    }
  }

  // -- reading answers --

  /**
   * What the A, AAAA and TXT attempts add up to: any records make ANSWERED (a type that failed is
   * named in the detail); NXDOMAIN, or no records with every type answered, makes NOT_FOUND; no
   * records with a type unanswered makes FAILED, since that type might have had some.
   */
  private FallbackAnswer classify(Name name, Name zone, List<Attempt> attempts) {
    List<Exchange> answered = new ArrayList<>();
    List<String> failures = new ArrayList<>();
    for (Attempt a : attempts) {
      Exchange x = a.exchange();
      if (x != null) {
        answered.add(x);
      } else {
        failures.add(a.why());
      }
    }
    if (answered.isEmpty()) {
      return failed(zone, String.join("; ", failures));
    }
    boolean validated = true;
    for (Exchange x : answered) {
      if (!x.response().getHeader().getFlag(Flags.AD)) {
        validated = false;
        if (config.requireDnssec()) {
          return insecureAnswer(zone, insecure(x, x.response().getQuestion()));
        }
      }
    }
    Collected c = collect(name, answered);
    String partial = failures.isEmpty() ? "" : "partial: " + String.join("; ", failures);
    if (!c.addresses().isEmpty() || !c.txt().isEmpty()) {
      return new FallbackAnswer(
          Outcome.ANSWERED, c.addresses(), c.txt(), zone.toString(), validated, c.ttl(), partial);
    }
    boolean nx = answered.stream().anyMatch(x -> x.response().getRcode() == Rcode.NXDOMAIN);
    if (!nx && !failures.isEmpty()) {
      return failed(zone, String.join("; ", failures));
    }
    return new FallbackAnswer(
        Outcome.NOT_FOUND,
        List.of(),
        List.of(),
        zone.toString(),
        validated,
        negativeTtl(answered),
        nx ? "NXDOMAIN" : "no A, AAAA or TXT records");
  }

  /** The addresses and TXT strings of the answers, and their smallest TTL. */
  private record Collected(List<String> addresses, List<String> txt, int ttl) {}

  private static Collected collect(Name name, List<Exchange> answered) {
    List<String> addresses = new ArrayList<>();
    List<String> txt = new ArrayList<>();
    long ttl = Long.MAX_VALUE;
    for (Exchange x : answered) {
      for (Record r : chase(name, x.response().getQuestion().getType(), x.response())) {
        ttl = Math.min(ttl, r.getTTL());
        if (r instanceof ARecord a) {
          addresses.add(a.getAddress().getHostAddress());
        } else if (r instanceof AAAARecord a) {
          addresses.add(a.getAddress().getHostAddress());
        } else if (r instanceof TXTRecord t) {
          txt.add(String.join("", t.getStrings()));
        }
      }
    }
    return new Collected(addresses, txt, (int) Math.min(ttl, Integer.MAX_VALUE));
  }

  /** The records of {@code type} for {@code name}, following a CNAME chain in the answer. */
  static List<Record> chase(Name name, int type, Message response) {
    List<Record> answer = response.getSection(Section.ANSWER);
    Name owner = name;
    for (int hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
      List<Record> found = new ArrayList<>();
      Name target = null;
      for (Record r : answer) {
        if (!r.getName().equals(owner)) {
          continue;
        }
        if (r.getType() == type) {
          found.add(r);
        } else if (r instanceof CNAMERecord c) {
          target = c.getTarget();
        }
      }
      if (!found.isEmpty() || target == null) {
        return found;
      }
      owner = target;
    }
    return List.of();
  }

  // RFC 2308: the negative TTL is the smaller of the SOA's TTL and its MINIMUM field.
  private static int negativeTtl(List<Exchange> exchanges) {
    long ttl = Long.MAX_VALUE;
    for (Exchange x : exchanges) {
      for (Record r : x.response().getSection(Section.AUTHORITY)) {
        if (r instanceof SOARecord soa) {
          ttl = Math.min(ttl, Math.min(soa.getTTL(), soa.getMinimum()));
        }
      }
    }
    return ttl == Long.MAX_VALUE ? 0 : (int) Math.min(ttl, Integer.MAX_VALUE);
  }

  /** The upstream's reply as ours to the client: its rcode, RA, AD and records, not its OPT. */
  private static Message relay(Message query, Message response) {
    int rcode = response.getRcode();
    Message reply = Replies.to(query, rcode <= 0xF ? rcode : Rcode.SERVFAIL);
    for (int flag : new int[] {Flags.RA, Flags.AD}) {
      if (response.getHeader().getFlag(flag)) {
        reply.getHeader().setFlag(flag);
      }
    }
    for (int section : new int[] {Section.ANSWER, Section.AUTHORITY, Section.ADDITIONAL}) {
      for (Record r : response.getSection(section)) {
        if (r.getType() != Type.OPT && r.getType() != Type.TSIG) {
          reply.addRecord(r, section);
        }
      }
    }
    return reply;
  }

  // -- outcomes --

  private FallbackAnswer refusal(Name name) {
    return FallbackAnswer.refused(
        name + " is outside the allowed zones " + config.allowedZones() + "; no query was sent");
  }

  private static FallbackAnswer failed(Name zone, String why) {
    return new FallbackAnswer(Outcome.FAILED, List.of(), List.of(), zone.toString(), false, 0, why);
  }

  private static FallbackAnswer insecureAnswer(Name zone, String why) {
    return new FallbackAnswer(
        Outcome.INSECURE, List.of(), List.of(), zone.toString(), false, 0, why);
  }

  private static String insecure(Exchange x, @Nullable Record question) {
    return "upstream "
        + hostPort(x.upstream())
        + " answered "
        + (question == null ? "?" : question.getName() + "/" + Type.string(question.getType()))
        + " without the AD bit; requireDnssec accepts only answers its validating upstream"
        + " marks authenticated";
  }

  private FallbackAnswer done(
      String kind, String name, FallbackAnswer answer, String upstream, long startNanos) {
    java.util.Objects.requireNonNull(outcomes.get(answer.outcome())).increment();
    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    log.info(
        "dns fallback {} name={} zone={} outcome={} upstream={} ms={}{}",
        kind,
        name,
        answer.zone().isEmpty() ? "-" : answer.zone(),
        answer.outcome(),
        upstream,
        ms,
        answer.detail().isEmpty() ? "" : " detail=" + answer.detail());
    return answer;
  }

  // -- small helpers --

  private static List<Name> parseZones(List<String> zones) {
    List<Name> out = new ArrayList<>();
    for (String z : zones) {
      try {
        out.add(Name.fromString(z));
      } catch (TextParseException e) {
        throw AnfException.invalid("allowedZones", "'" + z + "' is not a DNS name");
      }
    }
    // Most specific first, so that zoneOf reports the deepest zone a name is in.
    out.sort(Comparator.comparingInt(Name::labels).reversed());
    return List.copyOf(out);
  }

  private static String upstreams(List<Attempt> attempts) {
    Set<String> s = new LinkedHashSet<>();
    for (Attempt a : attempts) {
      Exchange x = a.exchange();
      if (x != null) {
        s.add(hostPort(x.upstream()));
      }
    }
    return s.isEmpty() ? "none" : String.join(",", s);
  }

  static String hostPort(InetSocketAddress a) {
    String host = a.getAddress() != null ? a.getAddress().getHostAddress() : a.getHostString();
    return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  private static String describe(Message query) {
    Record q = query.getQuestion();
    return q == null ? "?" : q.getName() + "/" + Type.string(q.getType());
  }

  private static String why(@Nullable Throwable t) {
    return t == null ? "no answer" : reason(t);
  }

  private static String reason(Throwable t) {
    Throwable c = t;
    while ((c instanceof CompletionException || c instanceof ExecutionException)
        && c.getCause() != null) {
      c = c.getCause();
    }
    return c instanceof UpstreamsFailed
        ? String.valueOf(c.getMessage())
        : c.getClass().getSimpleName() + (c.getMessage() == null ? "" : ": " + c.getMessage());
  }
}
