package org.anf.anchor.cli;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.anf.anchor.AnchorNode;
import org.anf.anchor.config.AnchorConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "anchor",
    mixinStandardHelpOptions = true,
    description = {
      "Run one anchor node from its configuration file (see anchor.yaml in docs/OPERATIONS.md).",
      "The node recovers every group it hosted from its data directory and serves until stopped."
    })
public final class AnchorCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", required = true, description = "anchor.yaml")
  Path config;

  @Override
  public Integer call() throws Exception {
    AnchorNode node = AnchorNode.start(AnchorConfig.load(config));
    spec.commandLine()
        .getOut()
        .printf(
            "anchor %s serving on %s (raft %s, metrics %s)%n",
            node.nodeId(),
            node.address(),
            node.raftAddress(),
            node.metricsAddress().isEmpty() ? "off" : node.metricsAddress());
    spec.commandLine().getOut().flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  node.close();
                  stopped.countDown();
                },
                "anf-anchor-shutdown"));
    stopped.await();
    return 0;
  }
}
