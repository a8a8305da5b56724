package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.Bytes;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.StatusRequest;
import org.anf.proto.v1.StructureRequest;
import org.anf.proto.v1.StructureResponse;
import org.anf.proto.v1.StructureServiceGrpc;
import org.anf.proto.v1.SubmitResponse;
import org.anf.proto.v1.TxnOutcome;

/** What the structural commands share: the StructureService, scopes by name, printing. */
final class StructureCalls {
  private StructureCalls() {}

  static StructureServiceGrpc.StructureServiceBlockingStub stub(AnfClient c) {
    // Structural protocols span several groups; give them more time than one write.
    return StructureServiceGrpc.newBlockingStub(c.channel(c.options().server))
        .withDeadlineAfter(Math.max(60, c.options().timeoutSeconds * 2L), TimeUnit.SECONDS);
  }

  /** Signs a request whose mutation id is a fresh transaction id, and sends it. */
  static StructureResponse send(AnfClient c, Mutation request, String kind) {
    StructureRequest req = StructureRequest.newBuilder().setRequest(c.sign(request)).build();
    return AnfClient.call(
        v ->
            switch (kind) {
              case "move" -> stub(c).move(req);
              case "split" -> stub(c).split(req);
              case "merge" -> stub(c).merge(req);
              default -> throw new IllegalArgumentException(kind);
            });
  }

  /** A scope by its alias: it must be a scope itself, not a name inside one. */
  static ScopeStatus scope(AnfClient c, Alias path) {
    AnfClient.Located at = c.locate(path);
    if (!at.scope().equals(path)) {
      throw new AnfException(
          ErrorCode.NOT_FOUND,
          "'"
              + path
              + "' is not a scope (it is governed by scope '"
              + (at.scope().isRoot() ? "(root)" : at.scope().text())
              + "')");
    }
    return AnfClient.call(
            v ->
                c.admin(at.anchors().get(0))
                    .status(StatusRequest.newBuilder().setScopeId(at.scopeId()).build()))
        .getScopes(0);
  }

  /**
   * Prints the outcome; returns the exit status: 0 committed, 2 aborted (a scope refused a later
   * step, so every side was rolled back: the same status as a refusal of the first step, which
   * comes back as an error).
   */
  static int print(
      ClientOptions opts, PrintWriter out, String what, StructureResponse r, Json extra) {
    boolean ok = r.getOutcome() == TxnOutcome.TXN_OUTCOME_COMMITTED;
    String outcome = r.getOutcome().name().substring("TXN_OUTCOME_".length());
    if (opts.json) {
      List<Object> entries = new ArrayList<>();
      r.getEntriesList().forEach(e -> entries.add(Format.entryJson(e)));
      List<Object> children = new ArrayList<>();
      r.getChildScopeIdsList().forEach(id -> children.add(ScopeIds.text(id)));
      Json j =
          extra
              .put("txn", Bytes.hex(r.getTxnId().toByteArray()))
              .put("outcome", outcome)
              .put("reason", r.getReason())
              .put("entries", entries);
      if (!children.isEmpty()) {
        j.put("childScopeIds", children);
      }
      out.println(j);
    } else {
      out.println(
          what
              + ": "
              + outcome.toLowerCase(java.util.Locale.ROOT)
              + " (txn "
              + Bytes.hex(r.getTxnId().toByteArray()).substring(0, 16)
              + ", "
              + r.getEntriesCount()
              + " lineage entries)"
              + (ok ? "" : ": " + r.getReason()));
      for (LineageEntry e : r.getEntriesList()) {
        out.println("  " + ScopeIds.text(e.getScopeId()) + " " + Format.entry(e));
      }
    }
    return ok ? Anf.OK : Anf.USAGE;
  }

  static Json submitted(SubmitResponse r) {
    return Json.obj()
        .put("lineageSeq", r.getEntry().getSeq())
        .put("lineageHash", Bytes.hex(r.getEntry().getHash().toByteArray()))
        .put("duplicate", r.getDuplicate());
  }

  static ByteString txnId(AnfClient c) {
    return c.factory.randomBytes(16);
  }
}
