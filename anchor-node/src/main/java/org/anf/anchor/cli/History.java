package org.anf.anchor.cli;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.state.ScopeIds;
import org.anf.lineage.transition.Transitions;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.AnchorInfo;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.EffectKind;
import org.anf.proto.v1.ExportedEntry;
import org.anf.proto.v1.GetLineageRequest;
import org.anf.proto.v1.GetLineageResponse;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.LookupStatus;
import org.anf.proto.v1.MergeRole;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ScopeStatus;
import org.anf.proto.v1.SplitChild;
import org.anf.proto.v1.StatusRequest;
import org.anf.proto.v1.StatusResponse;
import org.anf.proto.v1.TxnPhase;
import org.jspecify.annotations.Nullable;

/**
 * The history of one object across scopes, read from the lineage of every scope it passed through.
 * It starts where the object's oldest UID was issued (a UID names the scope that issued it; a
 * rotation entry links a UID to its predecessor) and follows the links the entries record: a
 * rename's new alias, a rotation's successor, a move's destination (the peer scope of its intent),
 * a split's child scope, a merge's parent. A scope that a merge dissolved can no longer be read;
 * the history then continues from the parent's merge entry, whose carried entries say where the
 * object went, and says so in a note.
 */
final class History {
  static final int MAX_LEGS = 64;
  static final int PAGE = 5000;
  private static final Pattern SCOPE_IN_DETAIL =
      Pattern.compile("(?:child scope|to scope|from scope) ([0-9a-f]{16})");

  /** One scope's whole chain, as read from one of its anchors (its leader when it has one). */
  record ScopeChain(
      long scopeId,
      String label,
      long parentScopeId,
      List<String> anchors,
      String anchorId,
      List<LineageEntry> entries,
      long headSeq,
      ByteString headHash,
      Map<ByteString, Mutation> intents) {}

  /** One entry of the history and the scope whose lineage holds it. */
  record Item(ScopeChain scope, LineageEntry entry, long issuedAtMs) {}

  /** Where to read on: a scope, from the entry the gate opens at (null: from its first entry). */
  private record Leg(
      long scopeId, @Nullable Predicate<Mutation> gate, @Nullable Alias at, boolean present) {}

  private final AnfClient c;
  private final Map<Long, Optional<ScopeChain>> chains = new LinkedHashMap<>();
  private final Set<String> knownAnchors = new LinkedHashSet<>();
  private final List<List<Item>> segments = new ArrayList<>();
  final List<String> notes = new ArrayList<>();
  final Set<Uid> uids = new LinkedHashSet<>();
  @Nullable Uid current;
  @Nullable Alias at;
  // The last scope read: where the object is now, as far as the history goes.
  @Nullable ScopeChain last;

  private History(AnfClient c) {
    this.c = c;
    knownAnchors.add(c.options().server);
  }

  /** The history of the object a UID names (or its successors). */
  static History ofUid(AnfClient c, Uid uid) {
    History h = new History(c);
    h.current = uid;
    Uid oldest = h.family(uid);
    if (h.chain(oldest.scopeId()) == null) {
      throw new AnfException(
          ErrorCode.NOT_FOUND,
          "no anchor hosts scope "
              + ScopeIds.text(oldest.scopeId())
              + ", which issued "
              + oldest.text()
              + " (a merge dissolves a scope; ask by alias to follow it from the parent)");
    }
    h.follow(new Leg(oldest.scopeId(), null, null, false));
    return h;
  }

  /** The history of the object an alias resolves to now, or of what was bound there. */
  static History ofAlias(AnfClient c, Alias alias) {
    History h = new History(c);
    LookupResult now = new Walk(c::anchors, List.of(c.options().server)).resolve(alias).answer();
    boolean names =
        now.getStatus() == LookupStatus.LOOKUP_STATUS_EXACT
            || now.getStatus() == LookupStatus.LOOKUP_STATUS_REDIRECTED
            || now.getRetired();
    if (names && now.hasUid()) {
      Uid uid = Uid.fromProto(now.getUid());
      h.current = uid;
      Uid oldest = h.family(uid);
      if (h.chain(oldest.scopeId()) != null) {
        h.follow(new Leg(oldest.scopeId(), null, null, false));
        return h;
      }
      h.notes.add(
          "scope "
              + ScopeIds.text(oldest.scopeId())
              + ", which issued "
              + oldest.text()
              + ", is no longer hosted (a merge dissolved it): its own entries are gone");
    }
    // Nothing resolves (never bound, or retired), or its first scope is gone: start from the scope
    // that governs the name and take the first object bound (or brought in) there.
    h.follow(new Leg(h.origin(alias), null, alias, false));
    return h;
  }

  /** Adds the UIDs that {@code uid} succeeded (rotations), oldest first; returns the oldest. */
  private Uid family(Uid uid) {
    List<Uid> line = new ArrayList<>(List.of(uid));
    for (int hop = 0; hop < MAX_LEGS; hop++) {
      Uid oldest = line.get(0);
      ScopeChain ch = chain(oldest.scopeId());
      Uid before = null;
      if (ch != null) {
        for (LineageEntry e : ch.entries()) {
          for (EffectItem i : e.getEffect().getItemsList()) {
            if (i.getKind() == EffectKind.EFFECT_KIND_UID_ROTATED
                && i.hasSuccessor()
                && Uid.fromProto(i.getSuccessor()).equals(oldest)) {
              before = Uid.fromProto(i.getUid());
            }
          }
        }
      }
      if (before == null || line.contains(before)) {
        break;
      }
      line.add(0, before);
    }
    uids.addAll(line);
    return line.get(0);
  }

  /** The scope that governs {@code alias} now, or the parent it was split from with it. */
  private long origin(Alias alias) {
    AnfClient.Located here = c.locate(alias);
    knownAnchors.addAll(here.anchors());
    return climb(here.scopeId(), alias);
  }

  /** Up from a split child to its parent, as long as the child's genesis brought the object. */
  private long climb(long scope, Alias alias) {
    long s = scope;
    for (int hop = 0; hop < MAX_LEGS; hop++) {
      ScopeChain ch = chain(s);
      if (ch == null || ch.entries().isEmpty() || ch.entries().get(0).getSeq() != 1) {
        return s;
      }
      Mutation genesis = Transitions.parse(ch.entries().get(0).getMutation());
      if (!genesis.hasCreateScope()
          || genesis.getCreateScope().getTxnId().isEmpty()
          || genesis.getCreateScope().getParentScopeId() == 0) {
        return s;
      }
      Alias root = alias(genesis.getCreateScope().getPath());
      if (root == null
          || find(genesis.getCreateScope().getImportsList(), root, alias, false) == null) {
        return s;
      }
      s = genesis.getCreateScope().getParentScopeId();
    }
    return s;
  }

  private void follow(Leg first) {
    Leg leg = first;
    for (int n = 0; leg != null && n < MAX_LEGS; n++) {
      ScopeChain ch = chain(leg.scopeId());
      if (ch == null) {
        notes.add(
            "scope "
                + ScopeIds.text(leg.scopeId())
                + " is not hosted by any anchor reached; the history stops there");
        return;
      }
      leg = scan(ch, leg);
    }
  }

  /** Reads one scope's chain for the object; returns the next scope to read, if it went on. */
  private @Nullable Leg scan(ScopeChain ch, Leg leg) {
    Alias here = leg.at();
    boolean present = leg.present();
    boolean open = leg.gate() == null;
    long awaiting = 0;
    List<Item> seg = new ArrayList<>();
    segments.add(seg);
    last = ch;
    try {
      for (LineageEntry e : ch.entries()) {
        Mutation m = Transitions.parse(e.getMutation());
        if (!open) {
          if (!java.util.Objects.requireNonNull(leg.gate()).test(m)) {
            continue;
          }
          open = true;
        }
        boolean include = false;
        Leg next = null;
        for (EffectItem i : e.getEffect().getItemsList()) {
          Alias ia = alias(i.getAlias());
          Alias target = alias(i.getTarget());
          Uid iu = i.hasUid() ? Uid.fromProto(i.getUid()) : null;
          Uid succ = i.hasSuccessor() ? Uid.fromProto(i.getSuccessor()) : null;
          boolean ours = (iu != null && uids.contains(iu)) || (succ != null && uids.contains(succ));
          if (!ours
              && uids.isEmpty()
              && iu != null
              && i.getKind() == EffectKind.EFFECT_KIND_BOUND
              && ia != null
              && ia.equals(here)) {
            ours = true; // what was first bound at the name asked for
          }
          if (ours) {
            include = true;
            present = true;
            if (iu != null) {
              uids.add(iu);
            }
            if (succ != null && uids.add(succ)) {
              current = succ;
            }
            if (current == null) {
              current = iu;
            }
            if (i.getKind() == EffectKind.EFFECT_KIND_RENAMED && target != null) {
              here = target;
            } else if (ia != null) {
              here = ia;
            }
            continue;
          }
          if (iu != null || ia == null || here == null || !ia.isPrefixOf(here)) {
            continue;
          }
          // An item about the object's alias or a subtree that holds it.
          switch (i.getKind()) {
            case EFFECT_KIND_LOCKED, EFFECT_KIND_UNLOCKED -> include |= present;
            case EFFECT_KIND_SCOPE_CREATED, EFFECT_KIND_MOVED_IN -> {
              List<ExportedEntry> brought =
                  m.hasCreateScope()
                      ? m.getCreateScope().getImportsList()
                      : m.hasMove() ? m.getMove().getEntriesList() : List.of();
              Alias found = find(brought, ia, here, true);
              if (found != null) {
                here = found;
                present = true;
              }
              include |= present;
            }
            case EFFECT_KIND_MOVED_OUT -> {
              if (present && target != null) {
                include = true;
                Alias from = here;
                here = target.concat(here.relativeTo(ia));
                if (!m.hasMove() || m.getMove().getPhase() != TxnPhase.TXN_PHASE_LOCAL) {
                  next = moveLeg(ch, m, i, here, from);
                }
              }
            }
            case EFFECT_KIND_SPLIT_OUT -> {
              if (present) {
                include = true;
                long child = splitChild(ch, m, i, ia);
                if (child != 0 && chain(child) != null) {
                  next = new Leg(child, null, here, true);
                } else {
                  awaiting = child;
                  notes.add(
                      "scope "
                          + (child == 0 ? "?" : ScopeIds.text(child))
                          + " ("
                          + ia.text()
                          + "), split off at "
                          + ch.label()
                          + " #"
                          + e.getSeq()
                          + ", is no longer hosted (a merge dissolved it): its own entries are"
                          + " gone");
                }
              }
            }
            case EFFECT_KIND_SEALED -> {
              if (present && m.hasMerge()) {
                include = true;
                ByteString txn = m.getMerge().getTxnId();
                next =
                    new Leg(
                        ch.parentScopeId(),
                        x ->
                            x.hasMerge()
                                && x.getMerge().getRole() == MergeRole.MERGE_ROLE_PARENT
                                && x.getMerge().getTxnId().equals(txn),
                        here,
                        true);
              }
            }
            case EFFECT_KIND_MERGED_IN -> {
              List<ExportedEntry> brought =
                  m.hasMerge() ? m.getMerge().getEntriesList() : List.of();
              Alias found = find(brought, ia, here, true);
              if (found != null) {
                include = true;
                present = true;
                here = found;
                awaiting = 0;
              } else if (present || awaiting != 0) {
                Alias out = redirectedOut(brought, ia, here);
                if (out != null) {
                  include = true;
                  next = arrivalLeg(out, here);
                  here = out;
                }
              }
            }
            default -> {}
          }
        }
        if (include) {
          seg.add(new Item(ch, e, m.getIssuedAtMs()));
        }
        if (next != null) {
          return next;
        }
      }
      if (awaiting != 0) {
        notes.add(
            "the object went to scope "
                + ScopeIds.text(awaiting)
                + " and no later entry of "
                + ch.label()
                + " says where it went from there");
      }
      return null;
    } finally {
      at = here;
    }
  }

  /** The destination of a cross-scope move, from its intent (the peer scope) or its detail. */
  private Leg moveLeg(ScopeChain ch, Mutation m, EffectItem i, Alias to, Alias from) {
    ByteString txn = m.getMove().getTxnId();
    Mutation intent = ch.intents().get(txn);
    long peer = intent != null ? intent.getMove().getPeerScopeId() : scopeInDetail(i);
    if (peer == 0) {
      return arrivalLeg(to, from);
    }
    return new Leg(peer, x -> x.hasMove() && x.getMove().getTxnId().equals(txn), to, true);
  }

  /** Where an object that left for {@code to} arrived: the scope that governs it, at its intent. */
  private Leg arrivalLeg(Alias to, Alias from) {
    return new Leg(
        origin(to),
        x -> {
          if (!x.hasMove() || x.getMove().getPhase() != TxnPhase.TXN_PHASE_PREPARE) {
            return false;
          }
          Alias t = alias(x.getMove().getTo());
          Alias f = alias(x.getMove().getFrom());
          return t != null && f != null && t.isPrefixOf(to) && f.isPrefixOf(from);
        },
        to,
        true);
  }

  private static long splitChild(ScopeChain ch, Mutation m, EffectItem i, Alias child) {
    Mutation intent = m.hasSplit() ? ch.intents().get(m.getSplit().getTxnId()) : null;
    if (intent != null && child.size() > 0) {
      String label = child.label(child.size() - 1);
      for (SplitChild s : intent.getSplit().getChildrenList()) {
        if (Alias.of(s.getLabel()).label(0).equals(label)) {
          return s.getChildScopeId();
        }
      }
    }
    return scopeInDetail(i);
  }

  private static long scopeInDetail(EffectItem i) {
    Matcher mt = SCOPE_IN_DETAIL.matcher(i.getDetail());
    return mt.find() ? ScopeIds.parse(mt.group(1)) : 0;
  }

  /**
   * Where the object is among entries taken in at {@code root} (relative paths): by one of its
   * UIDs, or, while none is known, what is bound at {@code here} (then adopted when {@code adopt}).
   */
  private @Nullable Alias find(List<ExportedEntry> entries, Alias root, Alias here, boolean adopt) {
    for (ExportedEntry x : entries) {
      Uid u =
          x.hasObject()
              ? Uid.fromProto(x.getObject().getUid())
              : x.hasRetiredUid() ? Uid.fromProto(x.getRetiredUid()) : null;
      if (u != null && uids.contains(u)) {
        return root.concat(Alias.splitPath(x.getRelativePath()));
      }
    }
    if (!uids.isEmpty() || !root.isPrefixOf(here)) {
      return null;
    }
    String rel = Alias.joinPath(here.relativeTo(root));
    for (ExportedEntry x : entries) {
      if (x.hasObject() && x.getRelativePath().equals(rel)) {
        if (adopt) {
          Uid u = Uid.fromProto(x.getObject().getUid());
          uids.add(u);
          current = u;
        }
        return here;
      }
    }
    return null;
  }

  /** The alias outside {@code root} that an old alias at or above {@code here} now lives at. */
  private static @Nullable Alias redirectedOut(
      List<ExportedEntry> entries, Alias root, Alias here) {
    if (!root.isPrefixOf(here)) {
      return null;
    }
    List<String> rel = here.relativeTo(root);
    for (ExportedEntry x : entries) {
      if (!x.hasRedirectAlias()) {
        continue;
      }
      List<String> p = Alias.splitPath(x.getRelativePath());
      if (p.size() <= rel.size() && rel.subList(0, p.size()).equals(p)) {
        Alias to = alias(x.getRedirectAlias());
        if (to != null) {
          return to.concat(rel.subList(p.size(), rel.size()));
        }
      }
    }
    return null;
  }

  static @Nullable Alias alias(org.anf.proto.v1.Alias a) {
    if (a.getText().isEmpty()) {
      return null;
    }
    try {
      return Alias.parse(a.getText()).base();
    } catch (AnfException e) {
      return null;
    }
  }

  /** The scope's status and chain, read once; null when no anchor reached hosts it. */
  @Nullable ScopeChain chain(long scopeId) {
    Optional<ScopeChain> known = chains.get(scopeId);
    if (known != null) {
      return known.orElse(null);
    }
    ScopeChain ch = read(scopeId);
    chains.put(scopeId, Optional.ofNullable(ch));
    return ch;
  }

  private @Nullable ScopeChain read(long scopeId) {
    ScopeStatus st = status(scopeId);
    if (st == null) {
      return null;
    }
    List<String> anchors = new ArrayList<>();
    for (AnchorInfo a : st.getAnchors().getAnchorsList()) {
      // The leader first: it has applied everything acknowledged.
      if (a.getId().equals(st.getLeaderId())) {
        anchors.add(0, a.getAddress());
      } else {
        anchors.add(a.getAddress());
      }
    }
    knownAnchors.addAll(anchors);
    AnfException last = null;
    boolean gone =
        true; // every anchor says it no longer hosts the scope (a merge is dissolving it)
    for (String a : anchors) {
      try {
        Fetched f = fetch(c, a, scopeId, 0);
        Map<ByteString, Mutation> intents = new LinkedHashMap<>();
        for (LineageEntry e : f.entries()) {
          Mutation m = Transitions.parse(e.getMutation());
          if (m.hasMove() && m.getMove().getPhase() == TxnPhase.TXN_PHASE_PREPARE) {
            intents.putIfAbsent(m.getMove().getTxnId(), m);
          } else if (m.hasSplit() && m.getSplit().getPhase() == TxnPhase.TXN_PHASE_PREPARE) {
            intents.putIfAbsent(m.getSplit().getTxnId(), m);
          }
        }
        if (!f.entries().isEmpty() && f.entries().get(0).getSeq() > 1) {
          notes.add(
              "entries of "
                  + label(st)
                  + " below seq "
                  + f.entries().get(0).getSeq()
                  + " were compacted on anchor "
                  + f.anchorId());
        }
        return new ScopeChain(
            scopeId,
            label(st),
            st.getParentScopeId(),
            anchors,
            f.anchorId(),
            f.entries(),
            f.headSeq(),
            f.headHash(),
            intents);
      } catch (AnfException e) {
        if (e.code().isCallerError() && e.code() != ErrorCode.UNKNOWN_SCOPE) {
          throw e;
        }
        gone &= e.code() == ErrorCode.UNKNOWN_SCOPE;
        last = e;
      }
    }
    if (last != null && !gone) {
      throw last;
    }
    return null;
  }

  static String label(ScopeStatus st) {
    return st.getPath().getText().isEmpty() ? "(root)" : st.getPath().getText();
  }

  private @Nullable ScopeStatus status(long scopeId) {
    AnfException unreachable = null;
    for (String a : List.copyOf(knownAnchors)) {
      try {
        StatusResponse r =
            AnfClient.call(
                v -> c.admin(a).status(StatusRequest.newBuilder().setScopeId(scopeId).build()));
        if (r.getScopesCount() > 0) {
          return r.getScopes(0);
        }
      } catch (AnfException e) {
        if (e.code() == ErrorCode.UNKNOWN_SCOPE) {
          continue;
        }
        if (e.code().isCallerError()) {
          throw e;
        }
        unreachable = e;
      }
    }
    if (unreachable != null && chains.isEmpty()) {
      throw unreachable;
    }
    return null;
  }

  /** A chain (from {@code fromSeq}; 0: the first kept) with the head of the anchor that gave it. */
  record Fetched(String anchorId, List<LineageEntry> entries, long headSeq, ByteString headHash) {}

  static Fetched fetch(AnfClient c, String anchor, long scopeId, long fromSeq) {
    List<LineageEntry> chain = new ArrayList<>();
    long from = fromSeq;
    GetLineageResponse page;
    do {
      long f = from;
      page =
          AnfClient.call(
              v ->
                  c.anchors(anchor)
                      .getLineage(
                          GetLineageRequest.newBuilder()
                              .setScopeId(scopeId)
                              .setFromSeq(f)
                              .setLimit(PAGE)
                              .build()));
      chain.addAll(page.getEntriesList());
      if (!chain.isEmpty()) {
        from = chain.get(chain.size() - 1).getSeq() + 1;
      }
    } while (page.getTruncated() && page.getEntriesCount() > 0);
    return new Fetched(
        page.getAnchorId().isEmpty() ? anchor : page.getAnchorId(),
        chain,
        page.getHeadSeq(),
        page.getHeadHash());
  }

  /** Every scope the history read, in the order it read them. */
  List<ScopeChain> scopes() {
    List<ScopeChain> out = new ArrayList<>();
    for (List<Item> seg : segments) {
      if (!seg.isEmpty() && !out.contains(seg.get(0).scope())) {
        out.add(seg.get(0).scope());
      }
    }
    return out;
  }

  /**
   * The entries in order: each scope's in its own order, interleaved by when they were issued (a
   * move's two sides, for instance, take turns).
   */
  List<Item> items() {
    List<Item> out = new ArrayList<>();
    int[] next = new int[segments.size()];
    while (true) {
      int best = -1;
      for (int s = 0; s < segments.size(); s++) {
        if (next[s] < segments.get(s).size()
            && (best < 0
                || segments.get(s).get(next[s]).issuedAtMs()
                    < segments.get(best).get(next[best]).issuedAtMs())) {
          best = s;
        }
      }
      if (best < 0) {
        return out;
      }
      out.add(segments.get(best).get(next[best]++));
    }
  }
}
