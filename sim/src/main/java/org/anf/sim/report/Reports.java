package org.anf.sim.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.anf.anchor.cli.Json;
import org.anf.sim.check.Verdict;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.anf.sim.runner.SimResult;

/**
 * Writes a run's report: {@code summary.json} (machine-readable: options, plan, faults, verdicts,
 * totals, per-second series), {@code history.jsonl} (every operation) and {@code report.html} (one
 * self-contained page: charts as inline SVG, no scripts, no external resources).
 */
public final class Reports {
  private Reports() {}

  public static SimResult write(SimResult r, Path dir) throws IOException {
    Files.createDirectories(dir);
    Path json = dir.resolve("summary.json");
    Path html = dir.resolve("report.html");
    Series s = new Series(r.ops(), endS(r));
    Files.writeString(json, summary(r, s).toString() + "\n", StandardCharsets.UTF_8);
    StringBuilder lines = new StringBuilder();
    for (Op op : r.ops()) {
      lines.append(op(op)).append('\n');
    }
    Files.writeString(dir.resolve("history.jsonl"), lines, StandardCharsets.UTF_8);
    Files.writeString(html, Html.page(r, s), StandardCharsets.UTF_8);
    return r.withReports(json, html);
  }

  static double endS(SimResult r) {
    double end = r.finalState().workloadEndS();
    for (Op op : r.ops()) {
      end = Math.max(end, op.completedS());
    }
    return end;
  }

  static Json summary(SimResult r, Series s) {
    List<Object> verdicts = Json.list();
    for (Verdict v : r.verdicts()) {
      verdicts.add(
          Json.obj()
              .put("check", v.name())
              .put("title", v.title())
              .put("ok", v.ok())
              .put("summary", v.summary())
              .put("problems", new ArrayList<Object>(v.problems())));
    }
    List<Object> faults = Json.list();
    for (History.FaultSpan f : r.faults()) {
      faults.add(
          Json.obj()
              .put("startS", round(f.startS()))
              .put("endS", round(f.endS()))
              .put("kind", f.kind())
              .put("description", f.description()));
    }
    Json totals = Json.obj();
    for (Op.Kind k : Op.Kind.values()) {
      long ok = 0;
      long refused = 0;
      long indeterminate = 0;
      for (Op op : r.ops()) {
        if (op.kind() == k) {
          switch (op.outcome()) {
            case OK -> ok++;
            case REFUSED -> refused++;
            case INDETERMINATE -> indeterminate++;
          }
        }
      }
      totals.put(
          k.label(),
          Json.obj().put("ok", ok).put("refused", refused).put("indeterminate", indeterminate));
    }
    Json series =
        Json.obj()
            .put("writesOk", list(s.writesOk))
            .put("writesFailed", list(s.writesFailed))
            .put("resolvesFresh", list(s.resolvesFresh))
            .put("resolvesStale", list(s.resolvesStale))
            .put("resolvesUnavailable", list(s.resolvesUnavailable))
            .put("writeP50Ms", list(s.writeP50))
            .put("writeP99Ms", list(s.writeP99))
            .put("resolveP50Ms", list(s.resolveP50))
            .put("resolveP99Ms", list(s.resolveP99));
    return Json.obj()
        .put("ok", r.ok())
        .put("seed", r.options().seed())
        .put("command", r.options().command())
        .put("durationMs", r.options().durationMs())
        .put("anchors", r.options().anchors())
        .put("scopes", r.options().scopes())
        .put("workload", r.options().workload().describe())
        .put("mutant", r.options().mutant().flag())
        .put("plan", r.plan().describe())
        .put("elapsedMs", r.elapsedMs())
        .put("operations", r.ops().size())
        .put("droppedMessages", r.droppedMessages())
        .put("delayedMessages", r.delayedMessages())
        .put("unidentifiedCalls", r.unidentifiedCalls())
        .put("verdicts", verdicts)
        .put("faults", faults)
        .put("totals", totals)
        .put("perSecond", series);
  }

  static Json op(Op op) {
    return Json.obj()
        .put("id", op.id())
        .put("client", op.client())
        .put("kind", op.kind().label())
        .put("family", op.family())
        .put("alias", op.alias())
        .put("target", op.target())
        .put("scope", op.scope())
        .put("scopeId", op.scopeId())
        .put("seq", op.seq())
        .put("invokedUs", op.invokedUs())
        .put("completedUs", op.completedUs())
        .put("outcome", op.outcome().name())
        .put("uid", op.uid())
        .put("status", op.status())
        .put("stale", op.stale())
        .put("ageMs", op.ageMs())
        .put("consistency", op.consistency())
        .put("boundMs", op.boundMs())
        .put("via", op.via())
        .put("mutationId", op.mutationId())
        .put("detail", op.detail());
  }

  private static List<Object> list(double[] v) {
    List<Object> out = Json.list();
    for (double d : v) {
      out.add(Double.isNaN(d) ? null : round(d));
    }
    return out;
  }

  static double round(double d) {
    return Math.round(d * 100) / 100.0;
  }

  static String fmt(String f, Object... args) {
    return String.format(Locale.ROOT, f, args);
  }
}
