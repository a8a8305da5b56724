package org.anf.sim.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.anf.lineage.kv.WriteSet;
import org.anf.lineage.state.StateKeys;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What writing one scope's snapshot file costs: the file a leader writes for a follower behind the
 * purged log, and an anchor for {@code anf snapshot save}, is a full copy of the scope, so its cost
 * grows with the scope. (Automatic snapshots write no file: they flush RocksDB.)
 */
@Command(
    name = "bench-snapshot",
    mixinStandardHelpOptions = true,
    description = {
      "Measure writing a scope's snapshot file: fill one node store (RocksDB, as an anchor opens"
          + " it) with a scope of N synthetic binds, then write its snapshot file from a RocksDB"
          + " snapshot, as a leader does for a follower behind its purged log, several times; print each"
          + " write's size, wall time and the writing thread's CPU time.",
      "A synthetic bind is five keys of the columns a real bind writes (binding, object, UID"
          + " register, outcome, lineage) with random values of 120, 200, 60, 250 and 640 bytes:"
          + " about the size a bench bind takes in a real snapshot."
    })
public final class SnapshotBenchCommand implements Callable<Integer> {
  private static final byte[] COLUMNS = {
    StateKeys.BINDING, StateKeys.OBJECT, StateKeys.REGISTER, StateKeys.OUTCOME, StateKeys.LINEAGE
  };
  private static final int[] VALUE_BYTES = {120, 200, 60, 250, 640};

  @Option(
      names = "--binds",
      description = "Synthetic binds in the scope (default: ${DEFAULT-VALUE}).",
      defaultValue = "300000")
  int binds = 300_000;

  @Option(
      names = "--runs",
      description = "Snapshot files written, one after another (default: ${DEFAULT-VALUE}).",
      defaultValue = "3")
  int runs = 3;

  @Option(
      names = "--seed",
      description = "Seed of the keys and values (default: ${DEFAULT-VALUE}).",
      defaultValue = "42")
  long seed = 42;

  @Override
  public Integer call() throws IOException {
    if (binds < 1 || runs < 1) {
      System.err.println("anf bench-snapshot: --binds and --runs must be at least 1");
      return 2;
    }
    Path dir = Files.createTempDirectory("anf-bench-snapshot-");
    System.out.printf(
        "anf bench-snapshot: %d synthetic binds, seed %d; data in %s%n", binds, seed, dir);
    try (NodeStore store = new NodeStore(dir.resolve("rocksdb"), false)) {
      long scope = 42;
      long started = System.nanoTime();
      fill(store, scope);
      System.out.printf("  (filled and flushed in %.1f s)%n", (System.nanoTime() - started) / 1e9);
      for (int r = 1; r <= runs; r++) {
        Path file = dir.resolve("snapshot-" + r + ".anf");
        ScopeSnapshots.Written w;
        try (NodeStore.ScopeView view = store.view(scope)) {
          w = ScopeSnapshots.write(view, file);
        }
        System.out.printf(
            "snapshot run=%d  %,d bytes  wall %,d ms  cpu %,d ms  (%.0f MB/s of wall)%n",
            r, w.bytes(), w.wallMs(), w.cpuMs(), w.bytes() / 1e6 / Math.max(w.wallMs(), 1) * 1000);
        Files.delete(file);
      }
    } finally {
      org.anf.anchor.dev.TempDirs.deleteTree(dir);
    }
    return 0;
  }

  private void fill(NodeStore store, long scope) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int perBatch = 500;
    for (int b = 0; b < binds; b += perBatch) {
      WriteSet ws = new WriteSet();
      for (int i = b; i < Math.min(binds, b + perBatch); i++) {
        for (int c = 0; c < COLUMNS.length; c++) {
          byte[] key = new byte[17];
          rnd.nextBytes(key);
          key[0] = COLUMNS[c];
          byte[] value = new byte[VALUE_BYTES[c]];
          rnd.nextBytes(value);
          ws.put(key, value);
        }
      }
      store.write(scope, ws, new NodeStore.Applied(1, Math.min(binds, b + perBatch)));
    }
    store.flush();
  }
}
