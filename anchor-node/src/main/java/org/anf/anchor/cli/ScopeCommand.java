package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.transition.Policies;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.CreateScopeRequest;
import org.anf.proto.v1.CreateScopeResponse;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.StatusRequest;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "scope",
    mixinStandardHelpOptions = true,
    description = "Manage scopes.",
    subcommands = {ScopeCommand.Create.class})
public final class ScopeCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(
        spec.commandLine(), "a subcommand is required: create");
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = {
        "Create a scope with its own anchor group: the parent records the delegation, then the new"
            + " group starts with its genesis entry. SCOPE '.' creates the root (bootstrap).",
        "The signing key becomes the owner unless --policy says otherwise."
      })
  static final class Create implements java.util.concurrent.Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin ClientOptions opts;

    @Parameters(
        paramLabel = "SCOPE",
        description = "Alias of the new scope, e.g. svc@team, or '.' for the root.")
    String scope;

    @Option(
        names = "--anchors",
        paramLabel = "N",
        description = "How many anchors govern it (default: 3, or every known node if fewer).")
    int anchors = 3;

    @Option(
        names = "--policy",
        paramLabel = "FILE",
        description = "Policy in YAML (see docs/OPERATIONS.md).")
    @Nullable Path policy;

    @Override
    public Integer call() {
      try (AnfClient c = new AnfClient(opts)) {
        boolean root = scope.equals(".");
        Alias path = root ? Alias.ROOT : Alias.parse(scope);
        if (!root && (path.hasOpaque() || path.version() > 0)) {
          throw AnfException.invalid("SCOPE", "a scope alias has no version or opaque segment");
        }
        Policy p =
            policy == null
                ? Policies.ownedBy(c.key().publicKey())
                : PolicyFile.load(policy, c.key().publicKey());
        AnchorMap map = pickAnchors(c, anchors);
        CreateScopeRequest.Builder req = CreateScopeRequest.newBuilder();
        String target = opts.server;
        long parent = 0;
        int depth = 0;
        if (!root) {
          AnfClient.Located at = c.locate(path);
          if (at.scope().equals(path)) {
            throw new AnfException(
                ErrorCode.ALREADY_EXISTS,
                "scope '" + path + "' exists (" + ScopeIds.text(at.scopeId()) + ")");
          }
          if (at.answer().getStatus() == LookupStatus.LOOKUP_STATUS_EXACT) {
            throw new AnfException(
                ErrorCode.ALREADY_EXISTS,
                "'" + path + "' is bound as an alias; it cannot become a scope");
          }
          parent = at.scopeId();
          depth = at.scope().size() + 1;
          target = at.anchors().get(0);
        }
        Mutation genesis =
            c.factory.genesis(parent, path, p, map, depth, List.of(), ByteString.EMPTY);
        req.setGenesis(c.sign(genesis));
        if (!root) {
          Delegation d =
              Delegation.newBuilder()
                  .setChild(path.toProto())
                  .setChildScopeId(genesis.getScopeId())
                  .setAnchors(map.toBuilder().setVersion(1))
                  .setPolicyDigest(ByteString.copyFrom(Policies.genesisDigest(p)))
                  .build();
          // With the child's policy the parent records its fuse (parent_may_reclaim).
          req.setDelegate(c.sign(c.factory.delegate(parent, d, p)));
        }
        String to = target;
        CreateScopeResponse r = AnfClient.call(v -> c.admin(to).createScope(req.build()));
        PrintWriter out = spec.commandLine().getOut();
        List<String> ids = new ArrayList<>();
        map.getAnchorsList().forEach(a -> ids.add(a.getId()));
        if (opts.json) {
          out.println(
              Json.obj()
                  .put("scope", root ? "" : path.text())
                  .put("scopeId", ScopeIds.text(genesis.getScopeId()))
                  .put("parentScopeId", parent == 0 ? null : ScopeIds.text(parent))
                  .put("anchors", ids)
                  .put("lineageSeq", r.getGenesisEntry().getSeq()));
        } else {
          out.printf(
              "created scope %s (%s) governed by %s%n",
              root ? "(root)" : path.text(),
              ScopeIds.text(genesis.getScopeId()),
              String.join(", ", ids));
        }
        return Anf.OK;
      }
    }

    /** The first N nodes the server knows of (itself first). */
    static AnchorMap pickAnchors(AnfClient c, int n) {
      if (n < 1) {
        throw AnfException.invalid("--anchors", "at least 1");
      }
      var status =
          AnfClient.call(
              v -> c.admin(c.options().server).status(StatusRequest.newBuilder().build()));
      List<AnchorInfo> peers = new ArrayList<>(status.getPeersList());
      if (peers.isEmpty()) {
        throw new AnfException(
            ErrorCode.UNAVAILABLE, "anchor " + c.options().server + " knows no peers");
      }
      AnchorMap.Builder m = AnchorMap.newBuilder();
      for (int i = 0; i < Math.min(n, peers.size()); i++) {
        m.addAnchors(peers.get(i));
      }
      return m.build();
    }
  }
}
