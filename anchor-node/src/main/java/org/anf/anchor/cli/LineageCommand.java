package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Name;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.GetLineageResponse;
import org.anf.proto.v1.LineageEntry;
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
      "Show the lineage entries that concern an alias or a UID, oldest first.",
      "--verify checks the whole hash chain of the scope on every one of its anchors (links,"
          + " signatures, and a replay of every mutation) and names any entry or anchor that"
          + " disagrees."
    })
public final class LineageCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "ALIAS|UID")
  String name;

  @Option(names = "--verify", description = "Verify the scope's chain on every anchor.")
  boolean verify;

  @Option(
      names = "--limit",
      paramLabel = "N",
      description = "Most entries to show (default: ${DEFAULT-VALUE}).",
      defaultValue = "1000")
  int limit = 1000;

  @Override
  public Integer call() {
    Name n = Name.parse(name);
    try (AnfClient c = new AnfClient(opts)) {
      long scope;
      List<String> anchors;
      GetLineageRequest.Builder req = GetLineageRequest.newBuilder().setLimit(limit);
      String scopeName;
      if (n instanceof Name.AliasName a) {
        AnfClient.Located at = c.locate(a.alias().base());
        scope = at.scopeId();
        anchors = at.anchors();
        scopeName = at.scope().isRoot() ? "(root)" : at.scope().text();
        req.setAlias(a.alias().base().toProto());
      } else {
        Name.UidName u = (Name.UidName) n;
        scope = u.uid().scopeId();
        anchors = c.anchorsOfScope(scope);
        scopeName = ScopeIds.text(scope);
        req.setUid(u.uid().toProto());
      }
      req.setScopeId(scope);
      GetLineageResponse r = AnfClient.call(v -> c.anchors(anchors.get(0)).getLineage(req.build()));
      PrintWriter out = spec.commandLine().getOut();
      List<VerifyRow> rows = verify ? verifyAll(c, scope, anchors) : List.of();
      boolean ok = rows.stream().allMatch(VerifyRow::ok);
      if (opts.json) {
        List<Object> entries = new ArrayList<>();
        r.getEntriesList().forEach(e -> entries.add(Format.entryJson(e)));
        Json j =
            Json.obj()
                .put("name", n.text())
                .put("scope", scopeName)
                .put("scopeId", ScopeIds.text(scope))
                .put("headSeq", r.getHeadSeq())
                .put("headHash", Bytes.hex(r.getHeadHash().toByteArray()))
                .put("entries", entries);
        if (verify) {
          List<Object> vs = new ArrayList<>();
          rows.forEach(
              row ->
                  vs.add(
                      Json.obj()
                          .put("anchor", row.anchor)
                          .put("ok", row.ok)
                          .put("report", row.report)));
          j.put("verified", ok).put("anchors", vs);
        }
        out.println(j);
      } else {
        out.printf(
            "%s  (scope %s, head seq %d %s)%n",
            n.text(),
            scopeName,
            r.getHeadSeq(),
            Bytes.hex(r.getHeadHash().toByteArray()).substring(0, 16));
        if (r.getEntriesCount() == 0) {
          out.println("  no entries concern it");
        }
        for (LineageEntry e : r.getEntriesList()) {
          out.println("  " + Format.entry(e));
        }
        if (r.getTruncated()) {
          out.println("  … more entries follow (raise --limit)");
        }
        for (VerifyRow row : rows) {
          out.printf("  verify %s: %s%n", row.anchor, row.report.replace("\n", "\n    "));
        }
      }
      return ok ? Anf.OK : 1;
    }
  }

  record VerifyRow(String anchor, boolean ok, String report) {}

  /** Fetches the whole chain from each anchor, verifies it, and checks the anchors agree. */
  static List<VerifyRow> verifyAll(AnfClient c, long scope, List<String> anchors) {
    List<VerifyRow> rows = new ArrayList<>();
    String agreed = null;
    for (String a : anchors) {
      try {
        List<LineageEntry> chain = new ArrayList<>();
        long from = 1;
        GetLineageResponse page;
        do {
          long f = from;
          page =
              AnfClient.call(
                  v ->
                      c.anchors(a)
                          .getLineage(
                              GetLineageRequest.newBuilder()
                                  .setScopeId(scope)
                                  .setFromSeq(f)
                                  .setLimit(5000)
                                  .build()));
          chain.addAll(page.getEntriesList());
          from = chain.isEmpty() ? from : chain.get(chain.size() - 1).getSeq() + 1;
        } while (page.getTruncated());
        var report =
            ChainVerifier.verify(
                chain,
                new ChainVerifier.Options()
                    .replay(true)
                    .head(new ChainVerifier.Head(page.getHeadSeq(), page.getHeadHash())));
        String head = page.getHeadSeq() + ":" + Bytes.hex(page.getHeadHash().toByteArray());
        boolean agrees = agreed == null || agreed.equals(head);
        if (agreed == null) {
          agreed = head;
        }
        String text =
            report
                + (agrees
                    ? ""
                    : "\n  head "
                        + head.substring(0, Math.min(head.length(), 24))
                        + " disagrees with the first anchor's");
        rows.add(
            new VerifyRow(
                page.getAnchorId().isEmpty() ? a : page.getAnchorId() + " (" + a + ")",
                report.ok() && agrees,
                text));
      } catch (AnfException e) {
        rows.add(new VerifyRow(a, false, "unreachable: " + e.getMessage()));
      }
    }
    return rows;
  }
}
