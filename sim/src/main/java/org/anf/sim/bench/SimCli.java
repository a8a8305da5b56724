package org.anf.sim.bench;

import org.anf.anchor.cli.CliExtension;
import picocli.CommandLine;

/** Adds sim's commands to {@code anf}. */
public final class SimCli implements CliExtension {
  @Override
  public void register(CommandLine anf) {
    anf.addSubcommand("bench", new CommandLine(new BenchCommand()));
    anf.addSubcommand("bench-resolve", new CommandLine(new ResolveBenchCommand()));
  }
}
