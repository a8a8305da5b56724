package org.anf.lineage.lookup;

import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.transition.Policies;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.RedirectState;
import org.anf.proto.v1.RevocationState;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.jspecify.annotations.Nullable;

/**
 * Best-match lookup of an alias or UID against one scope's state. The longest prefix that the scope
 * holds decides: an exact binding, a delegation to a child scope (the rest is the child's), a
 * redirect left by a rename or move (followed inside the scope, handed back to the resolver when it
 * leads elsewhere), or a binding of a shorter prefix (partial). Redirects inside one scope are
 * followed here, so a chain of renames costs one lookup per scope.
 *
 * <p>Freshness fields are the anchor's to fill; everything else in the result comes from here.
 */
public final class ScopeLookup {
  /** Redirect hops followed inside one scope before the lookup gives up (a loop is a bug). */
  public static final int MAX_LOCAL_HOPS = 64;

  /** Rotations followed from one UID to its latest successor. */
  public static final int MAX_ROTATIONS = 1024;

  private ScopeLookup() {}

  /**
   * Looks an alias up.
   *
   * @param scopeLabels how many leading labels of {@code alias} name this scope; -1 means the
   *     scope's own recorded path (which must then be a prefix of the alias)
   */
  public static LookupResult.Builder lookup(ScopeState s, Alias alias, int scopeLabels) {
    ScopeMeta meta = s.meta();
    Alias scopeAlias;
    if (scopeLabels < 0) {
      scopeAlias = Alias.fromProto(meta.getPath());
      if (!scopeAlias.isPrefixOf(alias)) {
        throw AnfException.invalid(
            "alias", "'" + alias + "' is not under scope '" + scopeName(meta) + "'");
      }
    } else {
      if (scopeLabels > alias.size()) {
        throw AnfException.invalid(
            "scope_labels", scopeLabels + " is more labels than '" + alias + "' has");
      }
      scopeAlias = alias.prefix(scopeLabels);
    }
    LookupResult.Builder r = base(meta, alias);
    if (meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_SEALED) {
      return r.setStatus(LookupStatus.LOOKUP_STATUS_REDIRECTED)
          .setRedirectTo(alias.toProto())
          .setDetail("scope merged into its parent; ask the parent scope")
          .setTtlSeconds(Policies.negativeTtl(meta.getPolicy()));
    }
    List<String> rel = new ArrayList<>(alias.labels().subList(scopeAlias.size(), alias.size()));
    if (alias.opaque() != null) {
      return device(s, meta, r, scopeAlias, rel, alias.opaque());
    }
    return walk(s, meta, r, scopeAlias, rel);
  }

  private static LookupResult.Builder walk(
      ScopeState s, ScopeMeta meta, LookupResult.Builder r, Alias scopeAlias, List<String> rel) {
    Policy policy = meta.getPolicy();
    for (int hop = 0; hop <= MAX_LOCAL_HOPS; hop++) {
      boolean restarted = false;
      for (int k = rel.size(); k >= 0 && !restarted; k--) {
        String p = Alias.joinPath(rel.subList(0, k));
        if (k == rel.size()) {
          Uid bound = s.binding(p);
          if (bound != null) {
            // Reached through a move inside this scope: the asked name is not the bound one.
            LookupStatus st =
                r.getRedirectChainCount() > 0
                    ? LookupStatus.LOOKUP_STATUS_REDIRECTED
                    : LookupStatus.LOOKUP_STATUS_EXACT;
            return object(s, meta, r, scopeAlias, bound, st);
          }
        }
        if (k > 0) {
          Delegation d = s.delegation(p);
          if (d != null) {
            return r.setStatus(LookupStatus.LOOKUP_STATUS_DELEGATED)
                .setDelegation(
                    d.toBuilder().setChild(scopeAlias.concat(rel.subList(0, k)).toProto()))
                .setResolved(scopeAlias.concat(rel.subList(0, k)).toProto())
                .addAllRemaining(rel.subList(k, rel.size()))
                .setTtlSeconds(Policies.cacheTtl(policy));
          }
        }
        RedirectState red = k > 0 || rel.isEmpty() ? s.redirect(p) : null;
        if (red != null) {
          List<String> rest = rel.subList(k, rel.size());
          switch (red.getTargetCase()) {
            case UID -> {
              if (k == rel.size()) {
                r.addRedirectChain(scopeAlias.concat(rel).toProto());
                return object(
                    s,
                    meta,
                    r,
                    scopeAlias,
                    Uid.fromProto(red.getUid()),
                    LookupStatus.LOOKUP_STATUS_REDIRECTED);
              }
            }
            case LOCAL_PREFIX -> {
              r.addRedirectChain(scopeAlias.concat(rel).toProto());
              List<String> next = new ArrayList<>(Alias.splitPath(red.getLocalPrefix()));
              next.addAll(rest);
              if (scopeAlias.size() + next.size() > Alias.MAX_LABELS) {
                throw redirectLoop(scopeAlias.concat(rel));
              }
              rel = next;
              restarted = true;
            }
            case PREFIX -> {
              Alias prefix = Alias.fromProto(red.getPrefix());
              if (prefix.size() + rest.size() > Alias.MAX_LABELS) {
                throw redirectLoop(scopeAlias.concat(rel));
              }
              Alias target = prefix.concat(rest);
              r.addRedirectChain(scopeAlias.concat(rel).toProto());
              if (scopeAlias.isPrefixOf(target) && !target.equals(scopeAlias.concat(rel))) {
                // Moved back under this scope: keep walking here.
                rel = new ArrayList<>(target.relativeTo(scopeAlias));
                restarted = true;
              } else {
                return r.setStatus(LookupStatus.LOOKUP_STATUS_REDIRECTED)
                    .setRedirectTo(target.toProto())
                    .setCanonicalAlias(target.toProto())
                    .setTtlSeconds(Policies.cacheTtl(policy));
              }
            }
            case TARGET_NOT_SET ->
                throw new AnfException(
                    ErrorCode.CORRUPTION, "redirect at '" + p + "' has no target");
          }
          if (restarted) {
            break;
          }
        }
        if (k < rel.size() && (k > 0 || !scopeAlias.isRoot())) {
          Uid prefixBound = s.binding(p);
          if (prefixBound != null) {
            object(s, meta, r, scopeAlias, prefixBound, LookupStatus.LOOKUP_STATUS_PARTIAL);
            if (r.getStatus() == LookupStatus.LOOKUP_STATUS_PARTIAL) {
              r.setResolved(scopeAlias.concat(rel.subList(0, k)).toProto())
                  .addAllRemaining(rel.subList(k, rel.size()));
            }
            return r;
          }
        }
      }
      if (!restarted) {
        return r.setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND)
            .setResolved(scopeAlias.toProto())
            .addAllRemaining(rel)
            .setTtlSeconds(Policies.negativeTtl(policy));
      }
    }
    throw new AnfException(
        ErrorCode.INTERNAL,
        "more than " + MAX_LOCAL_HOPS + " redirects inside one scope (a loop?)");
  }

  /** Redirects that keep growing the name they are given can only be a loop. */
  private static AnfException redirectLoop(Alias at) {
    return new AnfException(
        ErrorCode.INTERNAL,
        "the redirects from '"
            + at
            + "' grow the name past "
            + Alias.MAX_LABELS
            + " labels (a loop)");
  }

  private static LookupResult.Builder device(
      ScopeState s,
      ScopeMeta meta,
      LookupResult.Builder r,
      Alias scopeAlias,
      List<String> rel,
      String hash) {
    for (int k = 1; k <= rel.size(); k++) {
      Delegation d = s.delegation(Alias.joinPath(rel.subList(0, k)));
      if (d != null) {
        return r.setStatus(LookupStatus.LOOKUP_STATUS_DELEGATED)
            .setDelegation(d.toBuilder().setChild(scopeAlias.concat(rel.subList(0, k)).toProto()))
            .setResolved(scopeAlias.concat(rel.subList(0, k)).toProto())
            .addAllRemaining(rel.subList(k, rel.size()))
            .setTtlSeconds(Policies.cacheTtl(meta.getPolicy()));
      }
    }
    RevocationState revoked = s.deviceRevocation(hash);
    if (revoked != null) {
      return r.setStatus(LookupStatus.LOOKUP_STATUS_REVOKED)
          .setDetail("device hash revoked: " + revoked.getReason())
          .setTtlSeconds(Policies.negativeTtl(meta.getPolicy()));
    }
    Uid uid = s.device(hash);
    ObjectState o = uid == null ? null : s.object(uid);
    String prefix = Alias.joinPath(rel);
    // Only devices under the path asked about answer; others stay invisible.
    if (uid == null
        || o == null
        || !(prefix.isEmpty()
            || o.getPath().equals(prefix)
            || o.getPath().startsWith(prefix + "/"))) {
      return r.setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND)
          .setResolved(scopeAlias.concat(rel).toProto())
          .setTtlSeconds(Policies.negativeTtl(meta.getPolicy()));
    }
    return object(s, meta, r, scopeAlias, uid, LookupStatus.LOOKUP_STATUS_EXACT);
  }

  /** Looks a UID up in this scope's object table. */
  public static LookupResult.Builder lookupUid(ScopeState s, Uid uid) {
    ScopeMeta meta = s.meta();
    LookupResult.Builder r =
        LookupResult.newBuilder().setScopeId(meta.getScopeId()).setScope(meta.getPath());
    if (s.object(uid) == null) {
      return r.setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND)
          .setUid(uid.toProto())
          .setTtlSeconds(Policies.negativeTtl(meta.getPolicy()));
    }
    return object(
        s, meta, r, Alias.fromProto(meta.getPath()), uid, LookupStatus.LOOKUP_STATUS_EXACT);
  }

  /** Fills the answer for an object reached with {@code status}, following rotations. */
  private static LookupResult.Builder object(
      ScopeState s,
      ScopeMeta meta,
      LookupResult.Builder r,
      Alias scopeAlias,
      Uid uid,
      LookupStatus status) {
    ObjectState o = require(s, uid);
    LookupStatus st = status;
    int rotations = 0;
    while (o.getStatus() == org.anf.proto.v1.ObjectStatus.OBJECT_STATUS_ROTATED) {
      if (++rotations > MAX_ROTATIONS) {
        throw new AnfException(ErrorCode.INTERNAL, "rotation chain of " + uid + " too long");
      }
      RevocationState rv = s.uidRevocation(Uid.fromProto(o.getUid()));
      if (rv != null) {
        return revoked(meta, r.setUid(o.getUid()), rv);
      }
      r.addSuccessors(o.getSuccessor());
      o = require(s, Uid.fromProto(o.getSuccessor()));
      if (st == LookupStatus.LOOKUP_STATUS_EXACT) {
        st = LookupStatus.LOOKUP_STATUS_REDIRECTED;
      }
    }
    r.setUid(o.getUid());
    RevocationState rv = s.uidRevocation(Uid.fromProto(o.getUid()));
    if (rv == null && !o.getDeviceHash().isEmpty()) {
      rv = s.deviceRevocation(o.getDeviceHash());
    }
    if (rv != null) {
      return revoked(meta, r, rv);
    }
    Policy policy = meta.getPolicy();
    switch (o.getStatus()) {
      case OBJECT_STATUS_LIVE -> {
        int ttl =
            o.getRecord().getTtlSeconds() > 0
                ? o.getRecord().getTtlSeconds()
                : Policies.cacheTtl(policy);
        return r.setStatus(st)
            .setCanonicalAlias(scopeAlias.concat(Alias.splitPath(o.getPath())).toProto())
            .setRecord(o.getRecord())
            .setTtlSeconds(ttl);
      }
      case OBJECT_STATUS_RETIRED -> {
        return r.setStatus(LookupStatus.LOOKUP_STATUS_NOT_FOUND)
            .setRetired(true)
            .setDetail("retired at its unbind; UIDs are never reissued")
            .setTtlSeconds(Policies.negativeTtl(policy));
      }
      case OBJECT_STATUS_MOVED_OUT -> {
        return r.setStatus(LookupStatus.LOOKUP_STATUS_REDIRECTED)
            .setRedirectTo(o.getMovedTo())
            .setCanonicalAlias(o.getMovedTo())
            .setTtlSeconds(Policies.cacheTtl(policy));
      }
      default ->
          throw new AnfException(
              ErrorCode.CORRUPTION, "object " + uid + " has status " + o.getStatus());
    }
  }

  private static LookupResult.Builder revoked(
      ScopeMeta meta, LookupResult.Builder r, RevocationState rv) {
    return r.setStatus(LookupStatus.LOOKUP_STATUS_REVOKED)
        .setDetail("revoked: " + rv.getReason())
        .setTtlSeconds(Policies.negativeTtl(meta.getPolicy()));
  }

  private static ObjectState require(ScopeState s, Uid uid) {
    ObjectState o = s.object(uid);
    if (o == null) {
      throw new AnfException(ErrorCode.CORRUPTION, "no object record for " + uid);
    }
    return o;
  }

  private static LookupResult.Builder base(ScopeMeta meta, @Nullable Alias alias) {
    LookupResult.Builder r =
        LookupResult.newBuilder().setScopeId(meta.getScopeId()).setScope(meta.getPath());
    if (alias != null) {
      r.setAlias(alias.toProto());
    }
    return r;
  }

  private static String scopeName(ScopeMeta meta) {
    return meta.getPath().getText().isEmpty() ? "(root)" : meta.getPath().getText();
  }
}
