package org.anf.anchor.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.proto.v1.AnchorServiceGrpc;
import org.anf.proto.v1.Consistency;
import org.anf.proto.v1.LookupRequest;
import org.anf.proto.v1.LookupResult;

/**
 * A minimal stepwise walk over {@code AnchorService.Lookup}: from the root, following delegations
 * to child scopes and redirects to other scopes, one lookup per scope. The resolver library does
 * this with caches, hedging and serve-stale; this walk is for the demo and the structural tests,
 * which want the plain answer of the anchors.
 */
public final class Walk {
  /** One scope asked. */
  public record Step(long scopeId, String scope, String status) {}

  /** The final answer, the aliases followed on the way, and every scope asked. */
  public record Result(LookupResult answer, List<String> redirectChain, List<Step> path) {
    public int lookups() {
      return path.size();
    }
  }

  static final int MAX_HOPS = 64;

  private final Function<String, AnchorServiceGrpc.AnchorServiceBlockingStub> stubs;
  private final List<String> rootAnchors;

  public Walk(
      Function<String, AnchorServiceGrpc.AnchorServiceBlockingStub> stubs,
      List<String> rootAnchors) {
    this.stubs = stubs;
    this.rootAnchors = List.copyOf(rootAnchors);
  }

  public Result resolve(Alias alias) {
    long scope = 0;
    int scopeLabels = 0;
    List<String> anchors = rootAnchors;
    Alias current = alias;
    List<String> chain = new ArrayList<>();
    List<Step> path = new ArrayList<>();
    for (int hop = 0; hop < MAX_HOPS; hop++) {
      LookupResult r = lookup(anchors, scope, current, scopeLabels);
      path.add(
          new Step(
              r.getScopeId(),
              r.getScope().getText().isEmpty() ? "(root)" : r.getScope().getText(),
              r.getStatus().name().substring("LOOKUP_STATUS_".length())));
      r.getRedirectChainList().forEach(a -> chain.add(a.getText()));
      switch (r.getStatus()) {
        case LOOKUP_STATUS_DELEGATED -> {
          Alias next = Alias.fromProto(r.getResolved()).concat(r.getRemainingList());
          current = current.opaque() != null ? next.withOpaque(current.opaque()) : next;
          scope = r.getDelegation().getChildScopeId();
          scopeLabels = Alias.fromProto(r.getDelegation().getChild()).size();
          anchors = AnfClient.anchorsOf(r.getDelegation().getAnchors());
        }
        case LOOKUP_STATUS_REDIRECTED -> {
          if (!r.hasRedirectTo()) {
            return new Result(r, chain, path);
          }
          Alias next = Alias.fromProto(r.getRedirectTo());
          if (chain.isEmpty() || !chain.get(chain.size() - 1).equals(current.text())) {
            chain.add(current.text());
          }
          current = current.opaque() != null ? next.withOpaque(current.opaque()) : next;
          scope = 0;
          scopeLabels = 0;
          anchors = rootAnchors;
        }
        default -> {
          return new Result(r, chain, path);
        }
      }
    }
    throw new AnfException(ErrorCode.INTERNAL, "walking " + alias + " took more than 64 hops");
  }

  private LookupResult lookup(List<String> anchors, long scope, Alias alias, int scopeLabels) {
    LookupRequest req =
        LookupRequest.newBuilder()
            .setScopeId(scope)
            .setAlias(alias.toProto())
            .setScopeLabels(scopeLabels)
            .setConsistency(Consistency.CONSISTENCY_LINEARIZABLE)
            .build();
    AnfException last = null;
    for (String a : anchors) {
      try {
        return AnfClient.call(v -> stubs.apply(a).lookup(req));
      } catch (AnfException e) {
        if (e.code().isCallerError() && e.code() != ErrorCode.UNKNOWN_SCOPE) {
          throw e;
        }
        last = e;
      }
    }
    throw last != null ? last : new AnfException(ErrorCode.UNAVAILABLE, "no anchor answered");
  }
}
