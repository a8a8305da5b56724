package org.anf.anchor.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyText;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SubmitResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "transfer",
    mixinStandardHelpOptions = true,
    description = {
      "Transfer ownership of SCOPE: the --to keys become its owners and the old owner keys lose"
          + " every right they held as owners. Needs TRANSFER in the scope's policy.",
      "KEY is a public key (ed25519:...) or a key file written by `anf keygen`."
    })
public final class TransferCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(paramLabel = "SCOPE")
  String scope;

  @Option(names = "--to", paramLabel = "KEY", required = true, description = "A new owner key.")
  List<String> to = new ArrayList<>();

  @Option(names = "--clear-grants", description = "Also drop every grant (a clean hand-over).")
  boolean clearGrants;

  @Option(names = "--justification", paramLabel = "TEXT", description = "Why; recorded in lineage.")
  String justification = "";

  @Override
  public Integer call() {
    Alias path = Alias.parse(scope);
    List<byte[]> keys = new ArrayList<>();
    for (String k : to) {
      keys.add(publicKey(k));
    }
    try (AnfClient c = new AnfClient(opts)) {
      ScopeStatus s = StructureCalls.scope(c, path);
      SubmitResponse r =
          c.submit(
              AnfClient.anchorsOf(s.getAnchors()),
              c.factory.transfer(s.getScopeId(), keys, clearGrants).toBuilder()
                  .setJustification(justification)
                  .build());
      PrintWriter out = spec.commandLine().getOut();
      List<Object> owners = new ArrayList<>();
      keys.forEach(k -> owners.add(Ed25519.publicKeyText(k)));
      if (opts.json) {
        out.println(
            StructureCalls.submitted(r)
                .put("scope", path.text())
                .put("owners", owners)
                .put("policyVersion", s.getPolicy().getVersion() + 1)
                .put("status", "TRANSFERRED"));
      } else {
        out.println("transferred " + (path.isRoot() ? "(root)" : path.text()) + " to " + owners);
      }
      return Anf.OK;
    }
  }

  static byte[] publicKey(String k) {
    if (k.startsWith("ed25519:")) {
      return Ed25519.parsePublicKey(k);
    }
    Path p = Path.of(k);
    if (!Files.isRegularFile(p)) {
      throw AnfException.invalid(
          "--to", "'" + k + "' is neither a public key (ed25519:...) nor a key file");
    }
    try {
      return KeyText.parse(Files.readString(p, StandardCharsets.UTF_8)).publicKey();
    } catch (IOException e) {
      throw new AnfException(
          ErrorCode.INVALID_ARGUMENT, "cannot read " + p + ": " + e.getMessage());
    }
  }
}
