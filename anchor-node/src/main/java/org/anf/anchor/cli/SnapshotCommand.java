package org.anf.anchor.cli;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Iterator;
import org.anf.anchor.store.NodeStore;
import org.anf.anchor.store.ScopeSnapshots;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.SnapshotChunk;
import org.anf.proto.v1.SnapshotRequest;
import org.anf.proto.v1.SnapshotResponse;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "snapshot",
    mixinStandardHelpOptions = true,
    description = {
      "Save a scope's snapshot, or restore one into a stopped anchor.",
      "  anf snapshot save FILE [--scope SCOPE]      take a snapshot on the anchor and download it",
      "  anf snapshot restore FILE --data DIR        load it into a stopped anchor's data directory",
      "A snapshot is a scope's whole key range (state and lineage) at a Raft index, with a SHA-256"
          + " footer. Restored into a stopped anchor, the scope's state is reset to it and Raft"
          + " brings it forward from the log when the anchor starts."
    })
public final class SnapshotCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(index = "0", paramLabel = "save|restore")
  String action;

  @Parameters(index = "1", paramLabel = "FILE")
  Path file;

  @Option(
      names = "--scope",
      paramLabel = "SCOPE",
      description = "save: the scope (default: the root).")
  @Nullable String scope;

  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "restore: the anchor's data directory (the anchor must be stopped).")
  @Nullable Path data;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    switch (action) {
      case "save" -> save(out);
      case "restore" -> restore(out);
      default -> throw AnfException.invalid("ACTION", "'" + action + "' is not save or restore");
    }
    return Anf.OK;
  }

  private void save(PrintWriter out) throws Exception {
    try (AnfClient c = new AnfClient(opts)) {
      long id =
          scope == null || scope.equals(".")
              ? c.rootStatus().getScopeId()
              : c.locate(Alias.parse(scope)).scopeId();
      SnapshotResponse taken =
          AnfClient.call(
              v ->
                  c.admin(opts.server)
                      .snapshot(SnapshotRequest.newBuilder().setScopeId(id).build()));
      Path tmp = file.resolveSibling(file.getFileName() + ".part");
      long bytes = 0;
      try (OutputStream os = Files.newOutputStream(tmp)) {
        Iterator<SnapshotChunk> it =
            AnfClient.call(
                v ->
                    c.admin(opts.server)
                        .fetchSnapshot(SnapshotRequest.newBuilder().setScopeId(id).build()));
        while (AnfClient.call(v -> it.hasNext())) {
          SnapshotChunk ch = it.next();
          ch.getData().writeTo(os);
          bytes += ch.getData().size();
        }
      }
      ScopeSnapshots.Contents check = ScopeSnapshots.read(tmp);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      if (opts.json) {
        out.println(
            Json.obj()
                .put("file", file.toAbsolutePath())
                .put("scopeId", ScopeIds.text(id))
                .put("index", taken.getIndex())
                .put("term", taken.getTerm())
                .put("bytes", bytes)
                .put("keys", check.keys().size()));
      } else {
        out.printf(
            "saved scope %s at index %d (%d keys, %d bytes) to %s%n",
            ScopeIds.text(id), check.at().index(), check.keys().size(), bytes, file);
      }
    }
  }

  private void restore(PrintWriter out) {
    if (data == null) {
      throw AnfException.invalid("--data", "restore needs the stopped anchor's data directory");
    }
    ScopeSnapshots.Contents c = ScopeSnapshots.read(file);
    Path db = data.resolve("rocksdb");
    if (!Files.isDirectory(db)) {
      throw new AnfException(ErrorCode.NOT_FOUND, db + " is not an anchor's RocksDB directory");
    }
    NodeStore store;
    try {
      store = new NodeStore(db, true);
    } catch (AnfException e) {
      throw new AnfException(
          ErrorCode.UNAVAILABLE,
          "cannot open " + db + " (is the anchor still running? stop it first): " + e.getMessage());
    }
    try (store) {
      store.deleteScope(c.scope());
      store.load(c.scope(), c.keys(), c.values(), c.at());
      store.flush();
    }
    if (opts.json) {
      out.println(
          Json.obj()
              .put("scopeId", ScopeIds.text(c.scope()))
              .put("index", c.at().index())
              .put("keys", c.keys().size())
              .put("data", data.toAbsolutePath()));
    } else {
      out.printf(
          "restored scope %s at index %d (%d keys) into %s%n",
          ScopeIds.text(c.scope()), c.at().index(), c.keys().size(), data);
    }
  }
}
