package org.anf.anchor.cli;

import picocli.CommandLine;

/**
 * A subcommand contributed by a module above anchor-node (sim adds {@code anf sim}), found through
 * {@link java.util.ServiceLoader}.
 */
public interface CliExtension {
  /** Adds the extension's subcommands to the top-level {@code anf} command. */
  void register(CommandLine anf);
}
