package org.anf.lineage.transition;

import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.ExportedObject;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.ObjectStatus;
import org.anf.proto.v1.RedirectState;

/**
 * The entries of a subtree, as a move, split or merge carries them to another scope: live bindings
 * keep their UIDs, old aliases keep redirecting, delegations keep pointing at their child scopes.
 * Deterministic: the same state gives the same list.
 */
public final class Exports {
  private Exports() {}

  /** Entries at {@code root} and under it, paths relative to {@code root}. */
  public static List<ExportedEntry> subtree(ScopeState s, String root) {
    List<ExportedEntry> out = new ArrayList<>();
    s.scanSubtree(
        StateKeys.BINDING,
        root,
        (k, v) -> {
          Uid uid = Uid.fromBytes(v);
          ObjectState o = requireObject(s, uid);
          ExportedObject.Builder obj =
              ExportedObject.newBuilder()
                  .setUid(uid.toProto())
                  .setRecord(o.getRecord())
                  .setDeviceHash(o.getDeviceHash())
                  .setDeviceKey(o.getDeviceKey());
          out.add(entry(root, StateKeys.pathOf(k)).setObject(obj).build());
          return true;
        });
    s.scanSubtree(
        StateKeys.REDIRECT,
        root,
        (k, v) -> {
          String path = StateKeys.pathOf(k);
          RedirectState r = ScopeState.parse(v, RedirectState.parser());
          out.add(redirect(s, root, path, r));
          return true;
        });
    s.scanSubtree(
        StateKeys.DELEGATION,
        root,
        (k, v) -> {
          out.add(
              entry(root, StateKeys.pathOf(k))
                  .setDelegation(ScopeState.parse(v, Delegation.parser()))
                  .build());
          return true;
        });
    return out;
  }

  private static ExportedEntry redirect(ScopeState s, String root, String path, RedirectState r) {
    ExportedEntry.Builder e = entry(root, path);
    switch (r.getTargetCase()) {
      case UID -> {
        ObjectState o = requireObject(s, Uid.fromProto(r.getUid()));
        // Follow rotations: the redirect carries the UID's latest successor.
        int hops = 0;
        while (o.getStatus() == ObjectStatus.OBJECT_STATUS_ROTATED && hops++ < 1024) {
          o = requireObject(s, Uid.fromProto(o.getSuccessor()));
        }
        switch (o.getStatus()) {
          case OBJECT_STATUS_RETIRED -> e.setRetiredUid(o.getUid());
          case OBJECT_STATUS_LIVE -> {
            if (within(root, o.getPath())) {
              e.setRedirectUid(o.getUid());
            } else {
              e.setRedirectAlias(
                  s.path().concat(org.anf.lineage.alias.Alias.splitPath(o.getPath())).toProto());
            }
          }
          case OBJECT_STATUS_MOVED_OUT -> e.setRedirectAlias(o.getMovedTo());
          default ->
              throw new AnfException(
                  ErrorCode.CORRUPTION, "object " + Uid.fromProto(o.getUid()) + " has no status");
        }
      }
      case LOCAL_PREFIX -> {
        String t = r.getLocalPrefix();
        if (within(root, t)) {
          e.setRedirectRelative(relative(root, t));
        } else {
          e.setRedirectAlias(s.path().concat(org.anf.lineage.alias.Alias.splitPath(t)).toProto());
        }
      }
      case PREFIX -> e.setRedirectAlias(r.getPrefix());
      case TARGET_NOT_SET ->
          throw new AnfException(ErrorCode.CORRUPTION, "redirect at '" + path + "' has no target");
    }
    return e.build();
  }

  private static ObjectState requireObject(ScopeState s, Uid uid) {
    ObjectState o = s.object(uid);
    if (o == null) {
      throw new AnfException(ErrorCode.CORRUPTION, "no object record for " + uid);
    }
    return o;
  }

  private static ExportedEntry.Builder entry(String root, String path) {
    return ExportedEntry.newBuilder().setRelativePath(relative(root, path));
  }

  static boolean within(String root, String path) {
    return root.isEmpty() || path.equals(root) || path.startsWith(root + "/");
  }

  static String relative(String root, String path) {
    if (root.isEmpty()) {
      return path;
    }
    return path.equals(root) ? "" : path.substring(root.length() + 1);
  }

  static String join(String root, String rel) {
    if (root.isEmpty()) {
      return rel;
    }
    return rel.isEmpty() ? root : root + "/" + rel;
  }
}
