package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.util.ServiceLoader;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code anf}: the one command line of the fabric. Exit status, the same for every command: 0
 * success (or found), 1 not found, 2 usage or input error, 3 unavailable, 4 internal error (a bug
 * or corrupt state, such as a lineage entry that does not verify).
 */
@Command(
    name = "anf",
    mixinStandardHelpOptions = true,
    versionProvider = Anf.Version.class,
    description =
        "anf, the Anchor Naming Fabric: aliases that resolve to stable UIDs, governed per scope.",
    exitCodeListHeading = "%nExit status (every command):%n",
    exitCodeList = {
      "0:success, or found",
      "1:not found (an alias, a UID, a scope)",
      "2:usage or input error: bad options or alias, bad signature, no right, refused by policy or"
          + " a precondition (a split, merge or move aborted by a refusal too)",
      "3:unavailable: no anchor answered, no quorum, deadline passed",
      "4:internal error: a bug or corrupt state (a lineage entry that does not verify), neither an"
          + " answer nor the input's fault"
    },
    subcommands = {
      DevCommand.class,
      AnchorCommand.class,
      ResolverCommand.class,
      KeygenCommand.class,
      ScopeCommand.class,
      BindCommand.class,
      ResolveCommand.class,
      UnbindCommand.class,
      RenameCommand.class,
      MoveCommand.class,
      SplitCommand.class,
      MergeCommand.class,
      TransferCommand.class,
      RotateUidCommand.class,
      DemoCommand.class,
      LineageCommand.class,
      AnchorsCommand.class,
      SnapshotCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Anf implements Runnable {
  public static final int OK = 0;
  public static final int NOT_FOUND = 1;
  public static final int USAGE = 2;
  public static final int UNAVAILABLE = 3;

  /** A bug or corrupt state: neither an answer nor the input's fault (so not 1, "not found"). */
  public static final int INTERNAL = 4;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(
        spec.commandLine(), "a command is required (see anf --help)");
  }

  public static void main(String[] args) {
    System.exit(
        run(
            args,
            new PrintWriter(
                new java.io.OutputStreamWriter(System.out, java.nio.charset.StandardCharsets.UTF_8),
                true),
            new PrintWriter(
                new java.io.OutputStreamWriter(System.err, java.nio.charset.StandardCharsets.UTF_8),
                true)));
  }

  /** Runs the command line and returns the exit status. */
  public static int run(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cl = commandLine();
    cl.setOut(out).setErr(err);
    return cl.execute(args);
  }

  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Anf());
    for (CliExtension ext : ServiceLoader.load(CliExtension.class)) {
      ext.register(cl);
    }
    cl.setParameterExceptionHandler(
        (ex, a) -> {
          PrintWriter e = ex.getCommandLine().getErr();
          e.println("anf: " + ex.getMessage());
          e.println("Try '" + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help'.");
          return USAGE;
        });
    cl.setExecutionExceptionHandler(
        (ex, c, parsed) -> {
          PrintWriter e = c.getErr();
          if (ex instanceof AnfException a) {
            e.println("anf: " + a.getMessage());
            return exitCode(a.code());
          }
          e.println("anf: internal error: " + ex);
          return INTERNAL;
        });
    return cl;
  }

  public static int exitCode(ErrorCode code) {
    return switch (code) {
      case NOT_FOUND, UNKNOWN_SCOPE -> NOT_FOUND;
      case UNAVAILABLE, TIMEOUT -> UNAVAILABLE;
      case INTERNAL, CORRUPTION -> INTERNAL;
      default -> USAGE;
    };
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"anf " + org.anf.anchor.AnchorNode.VERSION};
    }
  }
}
