package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.TxnPhase;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "split",
    mixinStandardHelpOptions = true,
    description = {
      "Split the entries under each --child LABEL of SCOPE into a new child scope with its own"
          + " anchor group (on the same anchors as SCOPE). UIDs stay; every old alias keeps"
          + " resolving, now through the delegation.",
      "Runs as a recorded protocol coordinated by the anchor --server names (intent, child"
          + " genesis, commit; or abort, also after a crash)."
    })
public final class SplitCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "SCOPE")
  String scope;

  @Option(
      names = "--child",
      paramLabel = "LABEL",
      required = true,
      description = "A label directly under SCOPE whose entries become a child scope.")
  List<String> children = new ArrayList<>();

  @Option(
      names = "--policy",
      paramLabel = "FILE",
      description = "Policy of the children (default: a copy of SCOPE's policy).")
  @Nullable Path policyFile;

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias path = Alias.parse(scope);
    try (AnfClient c = new AnfClient(opts)) {
      ScopeStatus s = StructureCalls.scope(c, path);
      Policy policy =
          policyFile != null
              ? PolicyFile.load(policyFile, c.key().publicKey())
              : s.getPolicy().toBuilder().setVersion(1).build();
      List<SplitChild> specs = new ArrayList<>();
      for (String label : children) {
        specs.add(
            c.factory.splitChild(
                s.getScopeId(), path, Alias.of(label).label(0), s.getAnchors(), policy));
      }
      ByteString txn = StructureCalls.txnId(c);
      Mutation request =
          c.factory.split(s.getScopeId(), TxnPhase.TXN_PHASE_LOCAL, txn, specs).toBuilder()
              .setMutationId(txn)
              .setJustification(justification)
              .build();
      StructureResponse r = StructureCalls.send(c, request, "split");
      List<Object> made = new ArrayList<>();
      specs.forEach(sc -> made.add(path.concat(List.of(sc.getLabel())).text()));
      PrintWriter out = spec.commandLine().getOut();
      return StructureCalls.print(
          opts,
          out,
          "split " + path.text() + " into " + made,
          r,
          Json.obj().put("scope", path.text()).put("children", made));
    }
  }
}
