package org.anf.anchor.cli;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import org.anf.anchor.gateway.ResolverProcess;
import org.anf.anchor.gateway.ResolverProcessConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "resolver",
    mixinStandardHelpOptions = true,
    description = {
      "Run the resolver service (gRPC anf.v1.ResolverService) and, if configured, the DNS gateway"
          + " and legacy DNS fallback, from resolver.yaml (see docs/OPERATIONS.md).",
      "The cache is persisted in cache_dir, so a resolver started with the anchors unreachable"
          + " still answers what it knew, marked stale."
    })
public final class ResolverCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", required = true, description = "resolver.yaml")
  Path config;

  @Override
  public Integer call() throws Exception {
    ResolverProcess p = ResolverProcess.start(ResolverProcessConfig.load(config));
    p.describe().forEach(spec.commandLine().getOut()::println);
    spec.commandLine().getOut().flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  p.close();
                  stopped.countDown();
                },
                "anf-resolver-shutdown"));
    stopped.await();
    return 0;
  }
}
