package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Attribute;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.PathStep;
import org.anf.resolver.AnfResolver;
import org.anf.resolver.ResolveOptions;
import org.anf.resolver.ResolverConfig;
import org.anf.resolver.transport.GrpcErrors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "resolve",
    mixinStandardHelpOptions = true,
    description = {
      "Resolve an alias (or a uid:) by walking it scope by scope from the root anchors at"
          + " --server, and print the answer with its freshness.",
      "Exit status: 0 found (EXACT, REDIRECTED, DNS_FALLBACK), 1 not found (NOT_FOUND, PARTIAL,"
          + " REVOKED), 2 usage or input error (a bad alias, a name legacy DNS may not be asked"
          + " for), 3 unavailable (no anchor answered and nothing cached), 4 internal error (a"
          + " bug or corrupt state: neither an answer nor the input's fault).",
      "With --json an error is printed as one object too: {\"alias\", \"error\": {\"code\","
          + " \"grpcCode\", \"message\", \"position\", \"field\"}}."
    })
public final class ResolveCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "ALIAS", description = "e.g. svc@demo/hello, or uid:…")
  String name;

  @Option(
      names = "--consistency",
      paramLabel = "LEVEL",
      description =
          "linearizable, bounded:MS (answer at most MS behind the leader) or any"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "bounded:5000")
  String consistency = "bounded:5000";

  @Option(
      names = "--trace",
      description =
          "Walk from the root asking every scope (no cached delegation) and print each step, like"
              + " dig +trace.")
  boolean trace;

  static ResolveOptions options(String c) {
    String s = c.toLowerCase(Locale.ROOT).strip();
    if (s.equals("linearizable")) {
      return new ResolveOptions(Consistency.CONSISTENCY_LINEARIZABLE, 0, false);
    }
    if (s.equals("any")) {
      return new ResolveOptions(Consistency.CONSISTENCY_ANY, 0, false);
    }
    if (s.equals("bounded")) {
      return ResolveOptions.DEFAULT;
    }
    if (s.startsWith("bounded:")) {
      try {
        int ms = Integer.parseInt(s.substring("bounded:".length()));
        if (ms > 0) {
          return new ResolveOptions(Consistency.CONSISTENCY_BOUNDED, ms, false);
        }
      } catch (NumberFormatException ignored) {
        // reported below
      }
    }
    throw AnfException.invalid(
        "--consistency", "'" + c + "' is not linearizable, bounded:MS (MS > 0) or any");
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    LookupResult r;
    try {
      ResolveOptions o = options(consistency).withTrace(trace);
      ResolverConfig cfg =
          ResolverConfig.of(List.of(opts.server))
              .withTimeouts(
                  Duration.ofSeconds(Math.max(1, opts.timeoutSeconds)),
                  Duration.ofMillis(50),
                  Duration.ofSeconds(5));
      try (AnfResolver resolver = new AnfResolver(cfg)) {
        r = resolver.resolve(name, o);
      }
    } catch (AnfException e) {
      return error(out, e);
    } catch (RuntimeException e) {
      return error(out, new AnfException(ErrorCode.INTERNAL, "internal error: " + e, -1, null, e));
    }
    if (opts.json) {
      out.println(json(r));
    } else {
      if (trace) {
        trace(out, r);
      }
      text(out, r);
    }
    return switch (r.getStatus()) {
      case LOOKUP_STATUS_EXACT, LOOKUP_STATUS_REDIRECTED, LOOKUP_STATUS_DNS_FALLBACK -> Anf.OK;
      default -> Anf.NOT_FOUND;
    };
  }

  /** One line on stderr, or with --json one object on stdout; the exit status for the code. */
  private int error(PrintWriter out, AnfException e) {
    if (opts.json) {
      out.println(errorJson(name, e));
    } else {
      spec.commandLine().getErr().println("anf: " + e.getMessage());
    }
    return Anf.exitCode(e.code());
  }

  static Json errorJson(String name, AnfException e) {
    return Json.obj()
        .put("alias", name)
        .put(
            "error",
            Json.obj()
                .put("code", e.code().name())
                .put("grpcCode", GrpcErrors.code(e.code()).name())
                .put("message", String.valueOf(e.getMessage()))
                .put("position", e.position() >= 0 ? e.position() : null)
                .put("field", e.field()));
  }

  static String status(LookupStatus s) {
    return s.name().replace("LOOKUP_STATUS_", "");
  }

  /** The JSON contract of ARCHITECTURE.md (CLI contract). */
  static Json json(LookupResult r) {
    List<Object> path = Json.list();
    for (PathStep s : r.getPathList()) {
      path.add(
          Json.obj()
              .put("scope", s.getScope().getText().isEmpty() ? "(root)" : s.getScope().getText())
              .put("scopeId", String.format("%016x", s.getScopeId()))
              .put("anchor", s.getAnchorId())
              .put("lineageSeq", s.getLineageSeq())
              .put("status", status(s.getStatus()))
              .put("cached", s.getCached()));
    }
    List<Object> chain = Json.list();
    r.getRedirectChainList().forEach(a -> chain.add(a.getText()));
    List<Object> successors = Json.list();
    r.getSuccessorsList().forEach(u -> successors.add(Uid.fromProto(u).text()));
    Json j =
        Json.obj()
            .put("alias", r.getAlias().getText())
            .put("uid", r.hasUid() ? Uid.fromProto(r.getUid()).text() : null)
            .put("status", status(r.getStatus()))
            .put("canonicalAlias", r.hasCanonicalAlias() ? r.getCanonicalAlias().getText() : null)
            .put("resolved", r.hasResolved() ? r.getResolved().getText() : null)
            .put("remaining", List.copyOf(r.getRemainingList()))
            .put("stale", r.getFreshness().getStale())
            .put("provisional", r.getFreshness().getProvisional())
            .put("ageMs", r.getFreshness().getAgeMs())
            .put("lineageSeq", r.getFreshness().getLineageSeq())
            .put("retired", r.getRetired())
            .put("redirectChain", chain)
            .put("successors", successors)
            .put("ttlSeconds", r.getTtlSeconds())
            .put("path", path);
    if (r.hasRecord()) {
      List<Object> eps = Json.list();
      r.getRecord().getEndpointsList().forEach(e -> eps.add(endpoint(e)));
      Json attrs = Json.obj();
      for (Attribute a : r.getRecord().getAttributesList()) {
        attrs.put(a.getKey(), a.getValue());
      }
      j.put(
          "record",
          Json.obj()
              .put(
                  "kind",
                  r.getRecord()
                      .getKind()
                      .name()
                      .replace("OBJECT_KIND_", "")
                      .toLowerCase(Locale.ROOT))
              .put("endpoints", eps)
              .put("attributes", attrs)
              .put("ttlSeconds", r.getRecord().getTtlSeconds()));
    } else {
      j.put("record", null);
    }
    if (!r.getDetail().isEmpty()) {
      j.put("detail", r.getDetail());
    }
    return j;
  }

  static String endpoint(Endpoint e) {
    String host = e.getHost().contains(":") ? "[" + e.getHost() + "]" : e.getHost();
    return host
        + (e.getPort() == 0 ? "" : ":" + e.getPort())
        + (e.getProtocol().isEmpty() ? "" : "/" + e.getProtocol());
  }

  private static void trace(PrintWriter out, LookupResult r) {
    out.printf(";; resolving %s%n", r.getAlias().getText());
    for (PathStep s : r.getPathList()) {
      out.printf(
          ";; %-24s scope %016x  anchor %-4s lineage seq %-6d %s%s%s%n",
          s.getScope().getText().isEmpty() ? "(root)" : s.getScope().getText(),
          s.getScopeId(),
          s.getAnchorId(),
          s.getLineageSeq(),
          status(s.getStatus()),
          s.getCached() ? " (cached)" : "",
          s.getStale() ? " STALE age " + s.getAgeMs() + " ms" : "");
    }
    if (r.getRedirectChainCount() > 0) {
      StringBuilder b = new StringBuilder(";; redirected: ");
      r.getRedirectChainList().forEach(a -> b.append(a.getText()).append(" → "));
      b.append(r.hasCanonicalAlias() ? r.getCanonicalAlias().getText() : "?");
      out.println(b);
    }
    if (r.getSuccessorsCount() > 0) {
      StringBuilder b = new StringBuilder(";; successors: ");
      for (int i = 0; i < r.getSuccessorsCount(); i++) {
        b.append(i == 0 ? "" : " → ").append(Uid.fromProto(r.getSuccessors(i)).text());
      }
      out.println(b);
    }
    out.println(";;");
  }

  private static void text(PrintWriter out, LookupResult r) {
    StringBuilder b = new StringBuilder();
    b.append(r.getAlias().getText()).append("  ").append(status(r.getStatus()));
    if (r.hasUid()) {
      b.append("  ").append(Uid.fromProto(r.getUid()).text());
    }
    out.println(b);
    if (r.hasCanonicalAlias() && !r.getCanonicalAlias().getText().equals(r.getAlias().getText())) {
      out.println("  now at:    " + r.getCanonicalAlias().getText());
    }
    if (r.getStatus() == LookupStatus.LOOKUP_STATUS_PARTIAL
        || r.getStatus() == LookupStatus.LOOKUP_STATUS_NOT_FOUND) {
      if (r.hasResolved() && !r.getResolved().getText().isEmpty()) {
        out.println(
            "  resolved:  "
                + r.getResolved().getText()
                + (r.getRemainingCount() > 0
                    ? "  remaining: " + String.join("/", r.getRemainingList())
                    : ""));
      }
      if (r.getRetired()) {
        out.println("  retired:   was bound once; its UID is never reissued");
      }
    }
    if (r.hasRecord()) {
      for (Endpoint e : r.getRecord().getEndpointsList()) {
        out.println("  endpoint:  " + endpoint(e));
      }
      for (Attribute a : r.getRecord().getAttributesList()) {
        out.println("  attribute: " + a.getKey() + "=" + a.getValue());
      }
    }
    out.println(
        r.getFreshness().getStale()
            ? "  freshness: STALE, " + r.getFreshness().getAgeMs() + " ms old"
            : "  freshness: fresh (lineage seq " + r.getFreshness().getLineageSeq() + ")");
    if (!r.getDetail().isEmpty()) {
      out.println("  note:      " + r.getDetail());
    }
  }
}
