package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.Merge;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.TxnPhase;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "merge",
    mixinStandardHelpOptions = true,
    description = {
      "Fold CHILD_SCOPE back into its parent and dissolve the child's anchor group. Its entries"
          + " keep their UIDs; its id and final lineage head stay in the parent's lineage.",
      "A parent takes a child back only if the child's policy allows it (parent_may_reclaim)"
          + " or the signing key holds MERGE in the child."
    })
public final class MergeCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "CHILD_SCOPE")
  String child;

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias path = Alias.parse(child);
    try (AnfClient c = new AnfClient(opts)) {
      ScopeStatus s = StructureCalls.scope(c, path);
      if (s.getParentScopeId() == 0) {
        throw AnfException.invalid("CHILD_SCOPE", "the root has no parent to merge into");
      }
      ByteString txn = StructureCalls.txnId(c);
      Mutation request =
          c.factory
              .base(s.getParentScopeId())
              .setMutationId(txn)
              .setJustification(justification)
              .setMerge(
                  Merge.newBuilder()
                      .setChildScopeId(s.getScopeId())
                      .setChild(path.toProto())
                      .setPhase(TxnPhase.TXN_PHASE_PREPARE))
              .build();
      StructureResponse r = StructureCalls.send(c, request, "merge");
      PrintWriter out = spec.commandLine().getOut();
      return StructureCalls.print(
          opts,
          out,
          "merge " + path.text() + " into its parent",
          r,
          Json.obj()
              .put("scope", path.text())
              .put("scopeId", ScopeIds.text(s.getScopeId()))
              .put("parentScopeId", ScopeIds.text(s.getParentScopeId())));
    }
  }
}
