package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.Move;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.SubmitResponse;
import org.anf.proto.v1.TxnPhase;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "move",
    mixinStandardHelpOptions = true,
    description = {
      "Move an alias, or the whole subtree under it, to NEW_PARENT (keeping its last label, or"
          + " --as LABEL). UIDs stay; the old names redirect to the new place.",
      "Within one scope it is one lineage entry. Into another scope it runs as a recorded"
          + " protocol coordinated by the anchor --server names: an intent in both scopes'"
          + " lineage, then commit on both or abort on both (also after a crash).",
      "A subtree that holds a delegated child scope moves only into another scope, which"
          + " re-parents the child (the child records its own name)."
    })
public final class MoveCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(index = "0", paramLabel = "ALIAS")
  String alias;

  @Parameters(index = "1", paramLabel = "NEW_PARENT")
  String newParent;

  @Option(names = "--as", paramLabel = "LABEL", description = "The label under NEW_PARENT.")
  String label = "";

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias from = Alias.parse(alias);
    if (from.size() == 0) {
      throw AnfException.invalid("ALIAS", "the root cannot move");
    }
    Alias parent = Alias.parse(newParent);
    String last = label.isEmpty() ? from.label(from.size() - 1) : Alias.of(label).label(0);
    Alias to = parent.concat(List.of(last));
    PrintWriter out = spec.commandLine().getOut();
    try (AnfClient c = new AnfClient(opts)) {
      AnfClient.Located src = c.locate(from);
      AnfClient.Located dst = c.locate(to);
      if (src.scopeId() == dst.scopeId()) {
        SubmitResponse r =
            c.submit(
                src.anchors(),
                c.factory.moveLocal(src.scopeId(), from, to).toBuilder()
                    .setJustification(justification)
                    .build());
        if (opts.json) {
          out.println(
              StructureCalls.submitted(r)
                  .put("alias", from.text())
                  .put("newAlias", to.text())
                  .put("outcome", "COMMITTED")
                  .put("crossScope", false));
        } else {
          out.println("moved " + from.text() + " -> " + to.text() + " (within its scope)");
        }
        return Anf.OK;
      }
      ByteString txn = StructureCalls.txnId(c);
      Mutation request =
          c.factory
              .base(src.scopeId())
              .setMutationId(txn)
              .setJustification(justification)
              .setMove(
                  Move.newBuilder()
                      .setFrom(from.toProto())
                      .setTo(to.toProto())
                      .setPhase(TxnPhase.TXN_PHASE_PREPARE)
                      .setPeerScopeId(dst.scopeId()))
              .build();
      StructureResponse r = StructureCalls.send(c, request, "move");
      return StructureCalls.print(
          opts,
          out,
          "move " + from.text() + " -> " + to.text(),
          r,
          Json.obj()
              .put("alias", from.text())
              .put("newAlias", to.text())
              .put("crossScope", true)
              .put("sourceScopeId", ScopeIds.text(src.scopeId()))
              .put("destinationScopeId", ScopeIds.text(dst.scopeId())));
    }
  }
}
