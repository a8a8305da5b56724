package org.anf.sim.report;

import java.util.List;
import org.anf.sim.check.Verdict;
import org.anf.sim.history.History;
import org.anf.sim.history.Op;
import org.anf.sim.runner.SimResult;
import org.jspecify.annotations.Nullable;

/** The report page: verdicts first, then charts over time with the fault periods shaded. */
final class Html {
  private static final int W = 1100;
  private static final int H = 220;
  private static final int LEFT = 60;
  private static final int RIGHT = 20;
  private static final int TOP = 28;
  private static final int BOTTOM = 30;

  private Html() {}

  static String page(SimResult r, Series s) {
    StringBuilder b = new StringBuilder();
    boolean ok = r.ok();
    b.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")
        .append("<title>anf sim seed ")
        .append(r.options().seed())
        .append(ok ? " PASS" : " FAIL")
        .append("</title><style>")
        .append(
            "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;"
                + "margin:24px auto;max-width:1160px;color:#1d2433;background:#fff}"
                + "h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:26px 0 8px}"
                + ".banner{padding:14px 18px;border-radius:8px;color:#fff;font-size:18px;"
                + "font-weight:600;margin:10px 0 6px}.pass{background:#1f8a4c}.fail{background:#c62828}"
                + "code{background:#f1f3f6;padding:2px 5px;border-radius:4px;font-size:13px}"
                + "table{border-collapse:collapse;width:100%}td,th{text-align:left;"
                + "padding:6px 8px;border-bottom:1px solid #e3e6eb;vertical-align:top}"
                + ".badge{display:inline-block;min-width:44px;text-align:center;padding:2px 8px;"
                + "border-radius:10px;color:#fff;font-weight:600;font-size:12px}"
                + ".meta{color:#5b6475}.prob{color:#8b1c1c;font-size:13px;margin:2px 0}"
                + ".legend span{display:inline-block;margin-right:14px;font-size:12px}"
                + ".sw{display:inline-block;width:11px;height:11px;margin-right:4px;"
                + "vertical-align:-1px;border-radius:2px}svg{display:block;margin:4px 0 0}")
        .append("</style></head><body>");
    b.append("<h1>anf partition simulation &mdash; seed ")
        .append(r.options().seed())
        .append("</h1>");
    b.append("<div class=\"meta\">").append(esc(setup(r))).append("</div>");
    long failed = r.verdicts().stream().filter(v -> !v.ok()).count();
    b.append("<div class=\"banner ")
        .append(ok ? "pass\">PASS" : "fail\">FAIL")
        .append(" &mdash; ")
        .append(
            ok
                ? "all " + r.verdicts().size() + " checks held"
                : failed + " of " + r.verdicts().size() + " checks failed")
        .append(", ")
        .append(r.ops().size())
        .append(" operations, ")
        .append(r.faults().size())
        .append(" fault periods</div>");
    b.append("<div>Rerun: <code>").append(esc(r.options().command())).append("</code></div>");

    b.append("<h2>Checks</h2><table><tr><th>verdict</th><th>check</th><th>result</th></tr>");
    for (Verdict v : r.verdicts()) {
      b.append("<tr><td><span class=\"badge\" style=\"background:")
          .append(v.ok() ? "#1f8a4c" : "#c62828")
          .append("\">")
          .append(v.ok() ? "PASS" : "FAIL")
          .append("</span></td><td><b>")
          .append(esc(v.title()))
          .append("</b><br><span class=\"meta\">")
          .append(esc(v.name()))
          .append("</span></td><td>")
          .append(esc(v.summary()));
      int shown = 0;
      for (String p : v.problems()) {
        if (shown++ == 8) {
          b.append("<div class=\"prob\">&hellip; and ")
              .append(v.problems().size() - 8)
              .append(" more (summary.json has them all)</div>");
          break;
        }
        b.append("<div class=\"prob\">").append(esc(p)).append("</div>");
      }
      b.append("</td></tr>");
    }
    b.append("</table>");

    List<History.FaultSpan> faults = r.faults();
    b.append("<h2>Throughput (operations completed per second)</h2>");
    b.append(
        legend(
            new String[] {"#2f6fdf", "resolves answered"},
            new String[] {"#e08a00", "writes acknowledged"},
            new String[] {"#c62828", "writes failed or unknown"}));
    b.append(
        chart(
            s.seconds,
            faults,
            new Line[] {
              new Line(s.resolvesFresh, s.resolvesStale, "#2f6fdf"),
              new Line(s.writesOk, null, "#e08a00"),
              new Line(s.writesFailed, null, "#c62828")
            },
            false,
            "ops/s"));
    b.append("<h2>Latency (ms, log scale)</h2>");
    b.append(
        legend(
            new String[] {"#2f6fdf", "resolve p50"},
            new String[] {"#9ab8f0", "resolve p99"},
            new String[] {"#e08a00", "write p50"},
            new String[] {"#f2c27a", "write p99"}));
    b.append(
        chart(
            s.seconds,
            faults,
            new Line[] {
              new Line(s.resolveP99, null, "#9ab8f0"),
              new Line(s.writeP99, null, "#f2c27a"),
              new Line(s.resolveP50, null, "#2f6fdf"),
              new Line(s.writeP50, null, "#e08a00")
            },
            true,
            "ms"));
    b.append("<h2>Resolution availability (share of resolves per second)</h2>");
    b.append(
        legend(
            new String[] {"#1f8a4c", "fresh answer"},
            new String[] {"#f0b429", "answer marked stale"},
            new String[] {"#c62828", "no answer"}));
    b.append(availability(s, faults));

    b.append("<h2>Fault periods</h2>");
    b.append(
        legend(
            new String[] {color("partition"), "partition"},
            new String[] {color("delay"), "delay"},
            new String[] {color("crash"), "crash / restart"}));
    b.append("<table><tr><th>from</th><th>to</th><th>kind</th><th>what</th></tr>");
    for (History.FaultSpan f : faults) {
      b.append("<tr><td>")
          .append(Reports.fmt("%.1f s", f.startS()))
          .append("</td><td>")
          .append(Reports.fmt("%.1f s", f.endS()))
          .append("</td><td>")
          .append(esc(f.kind()))
          .append("</td><td>")
          .append(esc(f.description()))
          .append("</td></tr>");
    }
    if (faults.isEmpty()) {
      b.append("<tr><td colspan=\"4\">no faults in this run</td></tr>");
    }
    b.append("</table>");
    b.append("<h2>Run</h2><table>");
    row(b, "fault plan", r.plan().describe());
    row(b, "workload", r.options().workload().describe());
    row(b, "mutant", r.options().mutant().flag() + " — " + r.options().mutant().description());
    row(b, "operations", totals(r.ops()));
    row(
        b,
        "links",
        r.droppedMessages()
            + " messages dropped, "
            + r.delayedMessages()
            + " delayed, "
            + r.unidentifiedCalls()
            + " calls from an unidentified caller");
    row(b, "wall time", Reports.fmt("%.1f s", r.elapsedMs() / 1000.0));
    b.append("</table></body></html>\n");
    return b.toString();
  }

  static String setup(SimResult r) {
    return Reports.fmt(
        "%s run, %d anchors, %d scopes, %s; %s",
        org.anf.sim.runner.SimOptions.durationText(r.options().durationMs()),
        r.options().anchors(),
        r.options().scopes(),
        r.options().workload().describe(),
        r.plan().describe());
  }

  private static void row(StringBuilder b, String k, String v) {
    b.append("<tr><th>").append(esc(k)).append("</th><td>").append(esc(v)).append("</td></tr>");
  }

  static String totals(List<Op> ops) {
    StringBuilder sb = new StringBuilder();
    for (Op.Kind k : Op.Kind.values()) {
      long ok = ops.stream().filter(o -> o.kind() == k && o.outcome() == Op.Outcome.OK).count();
      long all = ops.stream().filter(o -> o.kind() == k).count();
      if (all > 0) {
        sb.append(sb.length() == 0 ? "" : "; ")
            .append(k.label())
            .append(' ')
            .append(ok)
            .append('/')
            .append(all)
            .append(" ok");
      }
    }
    return sb.toString();
  }

  /** One chart line: per-second values (plus an optional second series added to them). */
  private static final class Line {
    private final double[] v;
    private final double @Nullable [] plus;
    private final String color;

    Line(double[] v, double @Nullable [] plus, String color) {
      this.v = v;
      this.plus = plus;
      this.color = color;
    }

    String color() {
      return color;
    }

    double at(int i) {
      double[] p = plus;
      return p == null ? v[i] : v[i] + p[i];
    }
  }

  private static String legend(String[]... items) {
    StringBuilder b = new StringBuilder("<div class=\"legend\">");
    for (String[] it : items) {
      b.append("<span><i class=\"sw\" style=\"background:")
          .append(it[0])
          .append("\"></i>")
          .append(esc(it[1]))
          .append("</span>");
    }
    return b.append("</div>").toString();
  }

  static String color(String kind) {
    return switch (kind) {
      case "partition" -> "#f4c7c3";
      case "delay" -> "#fde9b8";
      default -> "#d5c9f2";
    };
  }

  private static double x(double t, int seconds) {
    return LEFT + (W - LEFT - RIGHT) * t / Math.max(1, seconds);
  }

  private static StringBuilder frame(int seconds, List<History.FaultSpan> faults) {
    StringBuilder b = new StringBuilder();
    b.append(
        Reports.fmt(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">",
            W, H, W, H));
    b.append(
        Reports.fmt(
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafbfc\" stroke=\"#d8dce3\"/>",
            LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM));
    for (History.FaultSpan f : faults) {
      double x0 = x(f.startS(), seconds);
      double x1 = x(f.endS(), seconds);
      b.append(
          Reports.fmt(
              "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" opacity=\"0.75\"><title>%s</title></rect>",
              x0,
              TOP,
              Math.max(1, x1 - x0),
              H - TOP - BOTTOM,
              color(f.kind()),
              esc(f.description())));
      b.append(
          Reports.fmt(
              "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" fill=\"#6b4b4b\">%s</text>",
              x0 + 2, TOP - 4, esc(shortLabel(f))));
    }
    int step = seconds <= 20 ? 2 : seconds <= 60 ? 5 : seconds <= 180 ? 15 : 60;
    for (int t = 0; t <= seconds; t += step) {
      double xx = x(t, seconds);
      b.append(
          Reports.fmt(
              "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#aab1bd\"/>",
              xx, xx, H - BOTTOM, H - BOTTOM + 4));
      b.append(
          Reports.fmt(
              "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6475\">%ds</text>",
              xx, H - BOTTOM + 16, t));
    }
    return b;
  }

  private static String shortLabel(History.FaultSpan f) {
    String d = f.description();
    int colon = d.indexOf(':');
    return colon > 0 ? d.substring(0, colon) : d.length() > 22 ? d.substring(0, 22) : d;
  }

  private static String chart(
      int seconds, List<History.FaultSpan> faults, Line[] lines, boolean log, String unit) {
    StringBuilder b = frame(seconds, faults);
    double max = 0;
    double min = Double.MAX_VALUE;
    for (Line l : lines) {
      for (int i = 0; i < seconds; i++) {
        double v = l.at(i);
        if (!Double.isNaN(v)) {
          max = Math.max(max, v);
          if (v > 0) {
            min = Math.min(min, v);
          }
        }
      }
    }
    if (max <= 0) {
      max = 1;
    }
    double lo =
        log
            ? Math.pow(10, Math.floor(Math.log10(Math.min(min == Double.MAX_VALUE ? 1 : min, max))))
            : 0;
    double hi = log ? Math.pow(10, Math.ceil(Math.log10(max))) : niceCeil(max);
    if (log && hi <= lo) {
      hi = lo * 10;
    }
    int plotH = H - TOP - BOTTOM;
    final double flo = lo;
    final double fhi = hi;
    java.util.function.DoubleUnaryOperator y =
        v -> {
          double f =
              log
                  ? (Math.log10(Math.max(v, flo)) - Math.log10(flo))
                      / (Math.log10(fhi) - Math.log10(flo))
                  : v / fhi;
          return TOP + plotH * (1 - Math.max(0, Math.min(1, f)));
        };
    if (log) {
      for (double t = lo; t <= hi * 1.0001; t *= 10) {
        axis(b, y.applyAsDouble(t), label(t) + " " + unit);
      }
    } else {
      for (int k = 0; k <= 4; k++) {
        double t = hi * k / 4;
        axis(b, y.applyAsDouble(t), label(t) + (k == 4 ? " " + unit : ""));
      }
    }
    for (Line l : lines) {
      StringBuilder path = new StringBuilder();
      boolean pen = false;
      for (int i = 0; i < seconds; i++) {
        double v = l.at(i);
        if (Double.isNaN(v)) {
          pen = false;
          continue;
        }
        path.append(pen ? " L" : " M")
            .append(Reports.fmt("%.1f %.1f", x(i + 0.5, seconds), y.applyAsDouble(v)));
        pen = true;
      }
      b.append("<path d=\"")
          .append(path)
          .append("\" fill=\"none\" stroke=\"")
          .append(l.color())
          .append("\" stroke-width=\"2\" stroke-linejoin=\"round\"/>");
    }
    return b.append("</svg>").toString();
  }

  private static void axis(StringBuilder b, double yy, String text) {
    b.append(
        Reports.fmt(
            "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e9ee\"/>",
            LEFT, W - RIGHT, yy, yy));
    b.append(
        Reports.fmt(
            "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6475\">%s</text>",
            LEFT - 6, yy + 4, esc(text)));
  }

  private static String availability(Series s, List<History.FaultSpan> faults) {
    StringBuilder b = frame(s.seconds, faults);
    int plotH = H - TOP - BOTTOM;
    for (int k = 0; k <= 4; k++) {
      double yy = TOP + plotH * (1 - k / 4.0);
      axis(b, yy, (25 * k) + "%");
    }
    double bw = (W - LEFT - RIGHT) / (double) s.seconds;
    for (int i = 0; i < s.seconds; i++) {
      double all = s.resolvesFresh[i] + s.resolvesStale[i] + s.resolvesUnavailable[i];
      if (all == 0) {
        continue;
      }
      double x0 = x(i, s.seconds) + 0.5;
      double[] parts = {s.resolvesFresh[i], s.resolvesStale[i], s.resolvesUnavailable[i]};
      String[] colors = {"#1f8a4c", "#f0b429", "#c62828"};
      double yBottom = TOP + plotH;
      for (int p = 0; p < 3; p++) {
        double hgt = plotH * parts[p] / all;
        if (hgt <= 0) {
          continue;
        }
        yBottom -= hgt;
        b.append(
            Reports.fmt(
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" opacity=\"0.85\"><title>%ds: %.0f fresh, %.0f stale, %.0f unanswered</title></rect>",
                x0,
                yBottom,
                Math.max(0.5, bw - 1),
                hgt,
                colors[p],
                i,
                parts[0],
                parts[1],
                parts[2]));
      }
    }
    return b.append("</svg>").toString();
  }

  private static double niceCeil(double v) {
    double p = Math.pow(10, Math.floor(Math.log10(v)));
    for (double m : new double[] {1, 2, 2.5, 5, 10}) {
      if (m * p >= v) {
        return m * p;
      }
    }
    return 10 * p;
  }

  private static String label(double v) {
    if (v >= 1000) {
      return Reports.fmt("%.0fk", v / 1000);
    }
    if (v >= 10 || v == Math.rint(v)) {
      return Reports.fmt("%.0f", v);
    }
    return Reports.fmt("%.1f", v);
  }

  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '&' -> b.append("&amp;");
        case '"' -> b.append("&quot;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
