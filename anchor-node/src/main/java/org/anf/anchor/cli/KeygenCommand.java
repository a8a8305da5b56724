package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.anf.anchor.dev.DevFabric;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.crypto.KeyText;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "keygen",
    mixinStandardHelpOptions = true,
    description = {
      "Generate an Ed25519 key for signing mutations.",
      "With --out, writes the key file (mode 600) and prints the public key; without, prints the"
          + " key file to standard output."
    })
public final class KeygenCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = "--out",
      paramLabel = "FILE",
      description = "Write the key file here (refuses to overwrite).")
  @Nullable Path out;

  @Option(names = "--json", description = "Print one JSON object.")
  boolean json;

  @Override
  public Integer call() throws Exception {
    KeyPair k = Ed25519.generate(new SecureRandom());
    PrintWriter o = spec.commandLine().getOut();
    if (out == null) {
      if (json) {
        o.println(Json.obj().put("publicKey", k.publicKeyText()).put("keyFile", KeyText.format(k)));
      } else {
        o.print(KeyText.format(k));
      }
      return Anf.OK;
    }
    if (Files.exists(out)) {
      throw new AnfException(ErrorCode.ALREADY_EXISTS, out + " exists; not overwriting a key");
    }
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      DevFabric.writeOwnerOnly(out, KeyText.format(k));
    } catch (java.nio.file.FileAlreadyExistsException e) {
      throw new AnfException(ErrorCode.ALREADY_EXISTS, out + " exists; not overwriting a key");
    }
    if (json) {
      o.println(Json.obj().put("publicKey", k.publicKeyText()).put("file", out.toAbsolutePath()));
    } else {
      o.println(k.publicKeyText());
    }
    return Anf.OK;
  }
}
