package org.anf.anchor.cli;

import java.io.PrintWriter;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.SubmitResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "rotate-uid",
    mixinStandardHelpOptions = true,
    description = {
      "Give the object bound at ALIAS a new UID. An explicit old -> new lineage entry links them,"
          + " so references to the old UID resolve to the new one.",
      "The only way a UID ever changes."
    })
public final class RotateUidCommand implements java.util.concurrent.Callable<Integer> {
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
              c.factory.rotateUid(at.scopeId(), a).toBuilder()
                  .setJustification(justification)
                  .build());
      String old = "";
      String fresh = r.hasUid() ? Uid.fromProto(r.getUid()).text() : "";
      for (EffectItem i : r.getEntry().getEffect().getItemsList()) {
        if (i.getKind() == EffectKind.EFFECT_KIND_UID_ROTATED) {
          old = Uid.fromProto(i.getUid()).text();
          fresh = Uid.fromProto(i.getSuccessor()).text();
        }
      }
      PrintWriter out = spec.commandLine().getOut();
      if (opts.json) {
        out.println(
            StructureCalls.submitted(r)
                .put("alias", a.text())
                .put("oldUid", old)
                .put("uid", fresh)
                .put("status", "ROTATED"));
      } else {
        out.println("rotated " + a.text() + ": " + old + " -> " + fresh);
      }
      return Anf.OK;
    }
  }
}
