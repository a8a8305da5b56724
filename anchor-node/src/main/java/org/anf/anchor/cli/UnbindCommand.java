package org.anf.anchor.cli;

import org.anf.lineage.alias.Alias;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.SubmitResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "unbind",
    mixinStandardHelpOptions = true,
    description = "Retire an alias's UID for good; the alias then resolves to 'retired'.")
public final class UnbindCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "ALIAS")
  String alias;

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias a = Alias.parse(alias);
    try (AnfClient c = new AnfClient(opts)) {
      AnfClient.Located at = c.locate(a);
      SubmitResponse r =
          c.submit(
              at.anchors(),
              c.factory.unbind(at.scopeId(), a).toBuilder()
                  .setJustification(justification)
                  .build());
      String uid = r.hasUid() ? Uid.fromProto(r.getUid()).text() : "";
      if (opts.json) {
        spec.commandLine()
            .getOut()
            .println(
                Json.obj()
                    .put("alias", a.text())
                    .put("uid", uid)
                    .put("status", "RETIRED")
                    .put("lineageSeq", r.getEntry().getSeq())
                    .put("lineageHash", Bytes.hex(r.getEntry().getHash().toByteArray())));
      } else {
        spec.commandLine().getOut().println("retired " + uid + " (" + a.text() + ")");
      }
      return Anf.OK;
    }
  }
}
