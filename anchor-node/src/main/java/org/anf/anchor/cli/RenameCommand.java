package org.anf.anchor.cli;

import java.io.PrintWriter;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.SubmitResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "rename",
    mixinStandardHelpOptions = true,
    description = {
      "Rename an alias within its scope. The UID stays; the old alias keeps resolving to it"
          + " (REDIRECTED) and is never reissued.",
      "To put it under another scope, use `anf move`."
    })
public final class RenameCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(index = "0", paramLabel = "ALIAS")
  String alias;

  @Parameters(index = "1", paramLabel = "NEW_ALIAS")
  String newAlias;

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias from = Alias.parse(alias);
    Alias to = Alias.parse(newAlias);
    try (AnfClient c = new AnfClient(opts)) {
      AnfClient.Located at = c.locate(from);
      AnfClient.Located dest = c.locate(to);
      if (dest.scopeId() != at.scopeId()) {
        throw AnfException.invalid(
            "NEW_ALIAS",
            "'"
                + to
                + "' is in another scope than '"
                + from
                + "'; a rename stays within one scope (use `anf move`)");
      }
      SubmitResponse r =
          c.submit(
              at.anchors(),
              c.factory.rename(at.scopeId(), from, to).toBuilder()
                  .setJustification(justification)
                  .build());
      String uid = r.hasUid() ? Uid.fromProto(r.getUid()).text() : "";
      PrintWriter out = spec.commandLine().getOut();
      if (opts.json) {
        out.println(
            StructureCalls.submitted(r)
                .put("alias", from.text())
                .put("newAlias", to.text())
                .put("uid", uid)
                .put("status", "RENAMED"));
      } else {
        out.println("renamed " + from.text() + " -> " + to.text() + " (" + uid + ")");
      }
      return Anf.OK;
    }
  }
}
