package org.anf.lineage.testing;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.lookup.ScopeLookup;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.transition.Exports;
import org.anf.lineage.transition.Outcome;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorMap;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ScopeMeta;
import org.anf.proto.v1.SignedMutation;

/**
 * A whole fabric of scopes held in memory, one {@link MemoryKv} per scope, with the resolver's walk
 * over them. The lineage core's own tests use it to check properties that span scopes; nothing here
 * replaces Ratis or RocksDB in the tests of the modules that own those.
 */
public final class MemoryFabric implements StructureCoordinator.Gateway {
  private final Map<Long, MemoryKv> scopes = new LinkedHashMap<>();
  private final Set<Long> dissolved = new HashSet<>();
  private long rootId;

  public Map<Long, MemoryKv> scopes() {
    return scopes;
  }

  public boolean isDissolved(long scopeId) {
    return dissolved.contains(scopeId);
  }

  public long rootId() {
    return rootId;
  }

  public void setRoot(long scopeId) {
    this.rootId = scopeId;
  }

  public ScopeState state(long scopeId) {
    MemoryKv kv = scopes.get(scopeId);
    if (kv == null) {
      throw new AnfException(ErrorCode.UNKNOWN_SCOPE, "no scope " + scopeId);
    }
    return new ScopeState(kv);
  }

  /** Applies and returns the outcome without throwing. */
  public Outcome apply(long scopeId, SignedMutation m) {
    return apply(scopeId, m, Uid.CANONICAL_TAG);
  }

  /** Applies with UIDs from space {@code uidTag} (0 canonical) and returns the outcome. */
  public Outcome apply(long scopeId, SignedMutation m, int uidTag) {
    MemoryKv kv = scopes.computeIfAbsent(scopeId, id -> new MemoryKv());
    Outcome o = Transitions.apply(kv, m, Transitions.Verify.SIGNATURE, uidTag);
    if (o instanceof Outcome.Applied a) {
      kv.apply(a.writes());
    }
    return o;
  }

  @Override
  public LineageEntry submit(long scopeId, SignedMutation m) {
    Outcome o = apply(scopeId, m);
    if (o instanceof Outcome.Applied a) {
      return a.entry();
    }
    if (o instanceof Outcome.Duplicate d) {
      return d.entry();
    }
    throw ((Outcome.Refused) o).error();
  }

  @Override
  public List<ExportedEntry> export(long scopeId, String relativePath) {
    return Exports.subtree(state(scopeId), relativePath);
  }

  @Override
  public ScopeMeta meta(long scopeId) {
    return state(scopeId).meta();
  }

  @Override
  public long headSeq(long scopeId) {
    return state(scopeId).headSeq();
  }

  @Override
  public ByteString headHash(long scopeId) {
    return ByteString.copyFrom(state(scopeId).headHash());
  }

  @Override
  public void createGroup(long scopeId, AnchorMap anchors) {
    scopes.putIfAbsent(scopeId, new MemoryKv());
  }

  @Override
  public void dissolveGroup(long scopeId) {
    dissolved.add(scopeId);
  }

  /** Every lineage entry of a scope, in order. */
  public List<LineageEntry> lineage(long scopeId) {
    List<LineageEntry> out = new ArrayList<>();
    state(scopeId)
        .kv()
        .scan(
            StateKeys.column(StateKeys.LINEAGE),
            StateKeys.column((byte) (StateKeys.LINEAGE + 1)),
            (k, v) -> {
              out.add(ScopeState.parse(v, LineageEntry.parser()));
              return true;
            });
    return out;
  }

  /** The resolver's walk: from the root, following delegations and cross-scope redirects. */
  public LookupResult resolve(Alias alias) {
    long scope = rootId;
    int scopeLabels = 0;
    Alias current = alias;
    List<org.anf.proto.v1.Alias> chain = new ArrayList<>();
    for (int hop = 0; hop < 64; hop++) {
      if (dissolved.contains(scope)) {
        throw new AssertionError("walk of " + alias + " reached dissolved scope " + scope);
      }
      LookupResult r = ScopeLookup.lookup(state(scope), current, scopeLabels).build();
      chain.addAll(r.getRedirectChainList());
      switch (r.getStatus()) {
        case LOOKUP_STATUS_DELEGATED -> {
          // resolved + remaining is the name to continue with: a redirect followed inside the
          // scope may have rewritten it.
          Alias next = Alias.fromProto(r.getResolved()).concat(r.getRemainingList());
          current = current.opaque() != null ? next.withOpaque(current.opaque()) : next;
          scope = r.getDelegation().getChildScopeId();
          scopeLabels = Alias.fromProto(r.getDelegation().getChild()).size();
        }
        case LOOKUP_STATUS_REDIRECTED -> {
          if (!r.hasRedirectTo()) {
            return r.toBuilder().clearRedirectChain().addAllRedirectChain(chain).build();
          }
          Alias next = Alias.fromProto(r.getRedirectTo());
          if (current.opaque() != null) {
            next = next.withOpaque(current.opaque());
          }
          current = next;
          scope = rootId;
          scopeLabels = 0;
        }
        default -> {
          return r.toBuilder().clearRedirectChain().addAllRedirectChain(chain).build();
        }
      }
    }
    throw new AssertionError("walk of " + alias + " took more than 64 hops");
  }

  /** Resolves a UID: its origin scope knows where it went. */
  public LookupResult resolve(Uid uid) {
    long origin = uid.scopeId();
    if (!scopes.containsKey(origin)) {
      return LookupResult.newBuilder().setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND).build();
    }
    LookupResult r = ScopeLookup.lookupUid(state(origin), uid).build();
    if (r.getStatus() == LookupStatus.LOOKUP_STATUS_REDIRECTED && r.hasRedirectTo()) {
      return resolve(Alias.fromProto(r.getRedirectTo()));
    }
    return r;
  }
}
