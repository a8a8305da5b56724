package org.anf.anchor.cli;

import java.nio.file.Path;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** Options every client command takes. */
public final class ClientOptions {
  public static final String DEFAULT_SERVER = "127.0.0.1:7400";

  @Option(
      names = "--server",
      paramLabel = "HOST:PORT",
      description = "An anchor to talk to (default: ${DEFAULT-VALUE}, or $ANF_SERVER).",
      defaultValue = "${env:ANF_SERVER:-" + DEFAULT_SERVER + "}")
  public String server = DEFAULT_SERVER;

  @Option(
      names = "--key",
      paramLabel = "FILE",
      description =
          "Key file to sign with (default: $ANF_KEY, else ./anf-data/dev-admin.key, else"
              + " ~/.anf/dev-admin.key, which `anf dev` writes).")
  public @Nullable Path key;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  public boolean json;

  @Option(
      names = "--timeout",
      paramLabel = "SECONDS",
      description = "Give up after this long (default: ${DEFAULT-VALUE}).",
      defaultValue = "30")
  public int timeoutSeconds = 30;
}
