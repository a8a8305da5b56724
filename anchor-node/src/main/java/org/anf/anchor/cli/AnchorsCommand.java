package org.anf.anchor.cli;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.MembershipRequest;
import org.anf.proto.v1.MembershipResponse;
import org.anf.proto.v1.NodeInfo;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.StatusRequest;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "anchors",
    mixinStandardHelpOptions = true,
    description = {
      "List, add or remove the anchors of a scope's group.",
      "  anf anchors SCOPE list",
      "  anf anchors SCOPE add HOST:PORT      (an anchor node's gRPC address)",
      "  anf anchors SCOPE remove HOST:PORT|ID",
      "Adding and removing are governance transitions: signed, recorded in lineage, then applied to"
          + " the Raft configuration."
    })
public final class AnchorsCommand implements java.util.concurrent.Callable<Integer> {
  @Spec CommandSpec spec;
  @Mixin ClientOptions opts;

  @Parameters(index = "0", paramLabel = "SCOPE", description = "Scope alias, or '.' for the root.")
  String scope;

  @Parameters(index = "1", paramLabel = "ACTION", description = "list, add or remove")
  String action;

  @Parameters(
      index = "2",
      paramLabel = "ADDR",
      arity = "0..1",
      description = "The anchor to add or remove.")
  @Nullable String addr;

  @Override
  public Integer call() {
    try (AnfClient c = new AnfClient(opts)) {
      long id;
      List<String> anchors;
      if (scope.equals(".")) {
        ScopeStatus root = c.rootStatus();
        id = root.getScopeId();
        anchors = AnfClient.anchorsOf(root.getAnchors());
      } else {
        Alias path = Alias.parse(scope);
        AnfClient.Located at = c.locate(path);
        if (!at.scope().equals(path)) {
          throw new AnfException(
              ErrorCode.UNKNOWN_SCOPE,
              "'" + path + "' is not a scope (the deepest scope there is '" + at.scope() + "')");
        }
        id = at.scopeId();
        anchors = at.anchors();
      }
      PrintWriter out = spec.commandLine().getOut();
      switch (action) {
        case "list" -> list(c, id, anchors, out);
        case "add", "remove" -> {
          if (addr == null) {
            throw AnfException.invalid("ADDR", action + " needs the anchor's HOST:PORT");
          }
          change(c, id, anchors, out);
        }
        default ->
            throw AnfException.invalid("ACTION", "'" + action + "' is not list, add or remove");
      }
      return Anf.OK;
    }
  }

  private void list(AnfClient c, long id, List<String> anchors, PrintWriter out) {
    ScopeStatus s =
        AnfClient.call(
                v ->
                    c.admin(anchors.get(0))
                        .status(StatusRequest.newBuilder().setScopeId(id).build()))
            .getScopes(0);
    int n = s.getAnchors().getAnchorsCount();
    if (opts.json) {
      List<Object> list = new ArrayList<>();
      for (AnchorInfo a : s.getAnchors().getAnchorsList()) {
        list.add(
            Json.obj()
                .put("id", a.getId())
                .put("address", a.getAddress())
                .put("raftAddress", a.getRaftAddress())
                .put("leader", a.getId().equals(s.getLeaderId())));
      }
      out.println(
          Json.obj()
              .put("scopeId", ScopeIds.text(id))
              .put("quorum", (n / 2 + 1) + "-of-" + n)
              .put("version", s.getAnchors().getVersion())
              .put("anchors", list));
      return;
    }
    out.printf(
        "scope %s: %d anchors, quorum %d-of-%d (anchor map v%d)%n",
        ScopeIds.text(id), n, n / 2 + 1, n, s.getAnchors().getVersion());
    for (AnchorInfo a : s.getAnchors().getAnchorsList()) {
      out.printf(
          "  %-4s %-22s raft %-22s %s%n",
          a.getId(),
          a.getAddress(),
          a.getRaftAddress(),
          a.getId().equals(s.getLeaderId()) ? "leader" : "");
    }
  }

  private void change(AnfClient c, long id, List<String> anchors, PrintWriter out) {
    String target = java.util.Objects.requireNonNull(addr);
    MembershipResponse r;
    if (action.equals("add")) {
      NodeInfo node =
          AnfClient.call(v -> c.admin(target).status(StatusRequest.newBuilder().build())).getNode();
      AnchorInfo anchor =
          AnchorInfo.newBuilder()
              .setId(node.getNodeId())
              .setAddress(node.getAddress())
              .setRaftAddress(node.getRaftAddress())
              .setPublicKey(node.getPublicKey())
              .build();
      MembershipRequest req =
          MembershipRequest.newBuilder()
              .setMutation(c.sign(c.factory.addAnchor(id, anchor)))
              .build();
      r = AnfClient.call(v -> c.admin(anchors.get(0)).addAnchor(req));
    } else {
      ScopeStatus s =
          AnfClient.call(
                  v ->
                      c.admin(anchors.get(0))
                          .status(StatusRequest.newBuilder().setScopeId(id).build()))
              .getScopes(0);
      String anchorId = null;
      for (AnchorInfo a : s.getAnchors().getAnchorsList()) {
        if (a.getAddress().equals(target) || a.getId().equals(target)) {
          anchorId = a.getId();
        }
      }
      if (anchorId == null) {
        throw new AnfException(
            ErrorCode.NOT_FOUND, "no anchor of scope " + ScopeIds.text(id) + " is at " + target);
      }
      String gone = anchorId;
      String via =
          anchors.stream().filter(a -> !a.equals(target)).findFirst().orElse(anchors.get(0));
      MembershipRequest req =
          MembershipRequest.newBuilder()
              .setMutation(c.sign(c.factory.removeAnchor(id, gone)))
              .build();
      r = AnfClient.call(v -> c.admin(via).removeAnchor(req));
    }
    String detail = r.getEntry().getEffect().getItems(0).getDetail();
    if (opts.json) {
      out.println(
          Json.obj()
              .put("scopeId", ScopeIds.text(id))
              .put("action", action)
              .put("detail", detail)
              .put("lineageSeq", r.getEntry().getSeq()));
    } else {
      out.println(
          (action.endsWith("e") ? action + "d" : action + "ed")
              + ": "
              + detail
              + " (lineage seq "
              + r.getEntry().getSeq()
              + ")");
    }
  }
}
