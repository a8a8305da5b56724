package org.anf.sim.bench;

import org.anf.anchor.cli.CliExtension;
import org.anf.sim.runner.SimCommand;
import picocli.CommandLine;

/**
 * Adds sim's commands to {@code anf}: {@code bench}, {@code bench-resolve}, {@code bench-snapshot}
 * and {@code sim}.
 */
public final class SimCli implements CliExtension {
  @Override
  public void register(CommandLine anf) {
    anf.addSubcommand("bench", new CommandLine(new BenchCommand()));
    anf.addSubcommand("bench-resolve", new CommandLine(new ResolveBenchCommand()));
    anf.addSubcommand("bench-snapshot", new CommandLine(new SnapshotBenchCommand()));
    anf.addSubcommand("sim", new CommandLine(new SimCommand()));
  }
}
