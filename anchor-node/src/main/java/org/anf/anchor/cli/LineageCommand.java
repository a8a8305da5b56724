package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.alias.Name;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.LineageEntry;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "lineage",
    mixinStandardHelpOptions = true,
    description = {
      "Show the whole history of the object an alias resolves to (or a UID names), oldest first,"
          + " across every scope it passed through: renames, rotations (old UID -> new), moves to"
          + " other scopes, splits into child scopes and merges back. Each entry is labelled with"
          + " the scope whose lineage holds it.",
      "--verify checks the whole hash chain of each of those scopes on every one of its anchors"
          + " (links, signatures, and a replay of every mutation) and names any entry or anchor"
          + " that disagrees. An anchor that is merely behind is waited for (--wait), then"
          + " compared up to the entries it has and reported as lagging, not as disagreeing.",
      "Exit status: 0 shown (and verified), 1 nothing concerns it, 2 bad input, 3 unavailable"
          + " (also: an anchor could not be asked to verify), 4 an entry or anchor does not"
          + " verify (or an internal error)."
    })
public final class LineageCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "ALIAS|UID")
  String name;

  @Option(names = "--verify", description = "Verify each scope's chain on every anchor.")
  boolean verify;

  @Option(
      names = "--wait",
      paramLabel = "SECONDS",
      description =
          "With --verify: how long to wait for an anchor that is behind the others to catch up"
              + " (default: ${DEFAULT-VALUE}).",
      defaultValue = "5")
  int waitSeconds = 5;

  @Option(
      names = "--limit",
      paramLabel = "N",
      description = "Most entries to show (default: ${DEFAULT-VALUE}).",
      defaultValue = "1000")
  int limit = 1000;

  @Override
  public Integer call() {
    Name n = Name.parse(name);
    if (limit < 1) {
      throw AnfException.invalid("--limit", "at least 1");
    }
    if (waitSeconds < 0) {
      throw AnfException.invalid("--wait", "not negative");
    }
    try (AnfClient c = new AnfClient(opts)) {
      History h =
          n instanceof Name.AliasName a
              ? History.ofAlias(c, a.alias().base())
              : History.ofUid(c, ((Name.UidName) n).uid());
      List<History.Item> items = h.items();
      List<History.ScopeChain> scopes = h.scopes();
      List<VerifyRow> rows = new ArrayList<>();
      if (verify) {
        for (History.ScopeChain s : scopes) {
          rows.addAll(verifyScope(c, s.scopeId(), s.label(), s.anchors(), waitSeconds * 1000L));
        }
      }
      boolean ok = rows.stream().allMatch(VerifyRow::ok);
      // Something that does not verify outweighs an anchor that could not be asked.
      boolean bad = rows.stream().anyMatch(r -> r.reached() && !r.ok());
      PrintWriter out = spec.commandLine().getOut();
      History.ScopeChain now = h.last;
      List<History.Item> shown = items.subList(0, Math.min(items.size(), limit));
      if (opts.json) {
        List<Object> entries = new ArrayList<>();
        shown.forEach(
            i ->
                entries.add(
                    Format.entryJson(i.entry())
                        .put("scope", i.scope().label())
                        .put("scopeId", ScopeIds.text(i.scope().scopeId()))));
        List<Object> uids = new ArrayList<>();
        h.uids.forEach(u -> uids.add(u.text()));
        List<Object> scopeList = new ArrayList<>();
        scopes.forEach(
            s ->
                scopeList.add(
                    Json.obj()
                        .put("scope", s.label())
                        .put("scopeId", ScopeIds.text(s.scopeId()))
                        .put("headSeq", s.headSeq())
                        .put("headHash", Bytes.hex(s.headHash().toByteArray()))
                        .put("anchor", s.anchorId())));
        Json j =
            Json.obj()
                .put("name", n.text())
                .put("uid", h.current == null ? null : h.current.text())
                .put("uids", uids)
                .put("alias", h.at == null ? null : h.at.text())
                .put("scope", now == null ? null : now.label())
                .put("scopeId", now == null ? null : ScopeIds.text(now.scopeId()))
                .put("headSeq", now == null ? 0 : now.headSeq())
                .put("headHash", now == null ? "" : Bytes.hex(now.headHash().toByteArray()))
                .put("scopes", scopeList)
                .put("entries", entries)
                .put("truncated", shown.size() < items.size())
                .put("notes", List.copyOf(h.notes));
        if (verify) {
          List<Object> vs = new ArrayList<>();
          rows.forEach(
              row ->
                  vs.add(
                      Json.obj()
                          .put("scope", row.scope)
                          .put("scopeId", ScopeIds.text(row.scopeId))
                          .put("anchor", row.anchor)
                          .put("ok", row.ok)
                          .put("lagging", row.lagging)
                          .put("headSeq", row.headSeq)
                          .put("report", row.report)));
          j.put("verified", ok).put("anchors", vs);
        }
        out.println(j);
      } else {
        text(out, n, h, items, shown, scopes, rows);
      }
      if (items.isEmpty()) {
        return Anf.NOT_FOUND;
      }
      return ok ? Anf.OK : bad ? Anf.INTERNAL : Anf.UNAVAILABLE;
    }
  }

  private static void text(
      PrintWriter out,
      Name n,
      History h,
      List<History.Item> items,
      List<History.Item> shown,
      List<History.ScopeChain> scopes,
      List<VerifyRow> rows) {
    // "ALIAS  UID  now at ALIAS2", or for a UID "UID  now UID2 at ALIAS".
    StringBuilder head = new StringBuilder(n.text());
    boolean byUid = n instanceof Name.UidName;
    Uid current = h.current;
    boolean rotated = current != null && !current.text().equals(n.text());
    if (current != null && rotated) {
      head.append(byUid ? "  now " : "  ").append(current.text());
    }
    Alias at = h.at;
    if (at != null && !at.text().equals(n.text())) {
      head.append(byUid ? (rotated ? " at " : "  at ") : "  now at ").append(at.text());
    }
    out.println(head);
    if (!scopes.isEmpty()) {
      List<String> s = new ArrayList<>();
      for (History.ScopeChain sc : scopes) {
        s.add(
            sc.label()
                + " (head seq "
                + sc.headSeq()
                + " "
                + Bytes.hex(sc.headHash().toByteArray()).substring(0, 16)
                + ")");
      }
      out.println("  scopes: " + String.join(", ", s));
    }
    if (items.isEmpty()) {
      out.println("  no entries concern it");
    }
    int width = 0;
    for (History.Item i : shown) {
      width = Math.max(width, i.scope().label().length());
    }
    for (History.Item i : shown) {
      out.printf("  %-" + width + "s %s%n", i.scope().label(), Format.entry(i.entry()));
    }
    if (shown.size() < items.size()) {
      out.println("  … " + (items.size() - shown.size()) + " more entries (raise --limit)");
    }
    for (String note : h.notes) {
      out.println("  note: " + note);
    }
    for (VerifyRow row : rows) {
      out.printf("  verify %s %s: %s%n", row.scope, row.anchor, row.report.replace("\n", "\n    "));
    }
  }

  record VerifyRow(
      String scope,
      long scopeId,
      String anchor,
      boolean ok,
      boolean lagging,
      boolean reached,
      long headSeq,
      String report) {}

  /**
   * Fetches the whole chain from each anchor of a scope and verifies it on its own (links,
   * signatures, replay, the anchor's own head). An anchor behind the others is given {@code waitMs}
   * to catch up; after that it is compared on the entries it has and reported as lagging. Entries
   * are compared across anchors seq by seq: an anchor whose entry differs from the others' (the
   * hash most anchors hold) is named with that entry.
   */
  static List<VerifyRow> verifyScope(
      AnfClient c, long scope, String label, List<String> anchors, long waitMs) {
    Map<String, History.Fetched> got = new LinkedHashMap<>();
    Map<String, String> unreachable = new LinkedHashMap<>();
    for (String a : anchors) {
      try {
        got.put(a, History.fetch(c, a, scope, 0));
      } catch (AnfException e) {
        unreachable.put(a, e.getMessage());
      }
    }
    long top = got.values().stream().mapToLong(History.Fetched::headSeq).max().orElse(0);
    long deadline = System.nanoTime() + waitMs * 1_000_000L;
    for (Map.Entry<String, History.Fetched> g : got.entrySet()) {
      History.Fetched f = g.getValue();
      while (f.headSeq() < top && System.nanoTime() < deadline) {
        pause();
        try {
          History.Fetched tail = History.fetch(c, g.getKey(), scope, f.headSeq() + 1);
          List<LineageEntry> all = new ArrayList<>(f.entries());
          all.addAll(tail.entries());
          f = new History.Fetched(tail.anchorId(), all, tail.headSeq(), tail.headHash());
        } catch (AnfException e) {
          break; // judged on what it gave
        }
      }
      g.setValue(f);
    }
    // The hash most anchors hold at each seq.
    Map<Long, Map<ByteString, Integer>> votes = new HashMap<>();
    for (History.Fetched f : got.values()) {
      for (LineageEntry e : f.entries()) {
        votes.computeIfAbsent(e.getSeq(), k -> new HashMap<>()).merge(e.getHash(), 1, Integer::sum);
      }
    }
    List<VerifyRow> rows = new ArrayList<>();
    for (Map.Entry<String, History.Fetched> g : got.entrySet()) {
      History.Fetched f = g.getValue();
      List<LineageEntry> chain = f.entries();
      long first = chain.isEmpty() ? 1 : chain.get(0).getSeq();
      ChainVerifier.Report report =
          ChainVerifier.verify(
              chain,
              new ChainVerifier.Options()
                  .startSeq(first)
                  .replay(first == 1)
                  .head(new ChainVerifier.Head(f.headSeq(), f.headHash())));
      StringBuilder text = new StringBuilder(report.toString());
      boolean agrees = true;
      for (int i = 0; i < chain.size() && agrees; i++) {
        LineageEntry e = chain.get(i);
        ByteString majority = majority(votes.get(e.getSeq()));
        if (majority == null || !majority.equals(e.getHash())) {
          agrees = false;
          text.append("\n  entry #")
              .append(i)
              .append(" (seq ")
              .append(e.getSeq())
              .append(") differs from the other anchors' copy: hash ")
              .append(Bytes.hex(e.getHash().toByteArray()), 0, 16)
              .append(
                  majority == null
                      ? ", and no copy is held by most anchors"
                      : ", theirs " + Bytes.hex(majority.toByteArray()).substring(0, 16));
        }
      }
      boolean lagging = f.headSeq() < top;
      if (lagging) {
        text.append("\n  lagging: its head is seq ")
            .append(f.headSeq())
            .append(", the others' seq ")
            .append(top)
            .append(" (waited ")
            .append(waitMs / 1000.0)
            .append(" s); compared on the entries it has")
            .append(agrees ? ", which agree" : "");
      }
      rows.add(
          new VerifyRow(
              label,
              scope,
              f.anchorId().equals(g.getKey()) ? g.getKey() : f.anchorId() + " (" + g.getKey() + ")",
              report.ok() && agrees,
              lagging,
              true,
              f.headSeq(),
              text.toString()));
    }
    unreachable.forEach(
        (a, why) ->
            rows.add(
                new VerifyRow(label, scope, a, false, false, false, 0, "unreachable: " + why)));
    return rows;
  }

  private static @Nullable ByteString majority(@Nullable Map<ByteString, Integer> v) {
    if (v == null) {
      return null;
    }
    ByteString best = null;
    int bestCount = 0;
    boolean tie = false;
    for (Map.Entry<ByteString, Integer> e : v.entrySet()) {
      if (e.getValue() > bestCount) {
        best = e.getKey();
        bestCount = e.getValue();
        tie = false;
      } else if (e.getValue() == bestCount) {
        tie = true;
      }
    }
    return tie ? null : best;
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AnfException(ErrorCode.UNAVAILABLE, "interrupted waiting for a lagging anchor");
    }
  }
}
