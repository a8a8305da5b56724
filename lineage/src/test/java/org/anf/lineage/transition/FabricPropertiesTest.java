package org.anf.lineage.transition;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.statistics.Statistics;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.chain.ChainVerifier;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.mutation.StructureCoordinator;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.Delegation;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.LookupResult;
import org.anf.proto.v1.ObjectKind;
import org.anf.proto.v1.ObjectRecord;
import org.anf.proto.v1.ObjectState;
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.RedirectState;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.jspecify.annotations.Nullable;

/**
 * Random sequences of mutations of every kind over an in-memory fabric of scopes, checked against
 * the promises of lineage: UIDs never repeat (checked on the lineage's allocations and on a scan of
 * every UID each scope's state holds); every alias ever bound, by whichever mutation bound it
 * (bind, device registration, rename, move within or across scopes, split, merge), resolves to its
 * UID, that UID's successor, or "retired"; a child recorded as emancipated is never taken back by
 * its parent; and replaying each scope's lineage on an empty state gives the same state digest (and
 * a chain that verifies). Some binds take their UID from an isolated quorum's sub-space.
 */
class FabricPropertiesTest {
  static final int OPS = 40;

  enum Op {
    BIND,
    BIND_TAGGED,
    UNBIND,
    RENAME,
    MOVE_LOCAL,
    MOVE_ACROSS,
    SPLIT,
    MERGE,
    TRANSFER,
    ROTATE_UID,
    SET_POLICY,
    ADD_ANCHOR,
    REMOVE_ANCHOR,
    REGISTER_DEVICE,
    ROTATE_DEVICE_HASH,
    REVOKE,
    CREATE_SCOPE,
    MOVE_SCOPE,
    FORGED
  }

  /** Sub-spaces of isolated quorums used by BIND_TAGGED, the widest tag among them. */
  static final int[] TAGS = {1, 2, Uid.MAX_TAG};

  @Property(tries = 1000, afterFailure = AfterFailureMode.SAMPLE_ONLY)
  void continuityUniquenessAndReplay(@ForAll long seed) {
    Run run = new Run(seed);
    for (int i = 0; i < OPS; i++) {
      Op op = Op.values()[run.rnd.nextInt(Op.values().length)];
      run.step(op);
      if (i % 10 == 9) {
        run.checkContinuity();
      }
    }
    run.checkContinuity();
    run.checkReplay();
    // The aliases checked, by how they came to be bound: a bind (or device registration) names
    // them in its effect; a rename or move (within or across scopes) binds them without that.
    run.everBound
        .keySet()
        .forEach(
            a ->
                Statistics.label("aliases checked")
                    .collect(run.boundByEffect.contains(a) ? "bound" : "by rename or move"));
    run.applied.forEach((op, n) -> Statistics.label("mutations applied").collect(op));
  }

  static final class Run {
    final FabricModel m;
    final Random rnd;
    final Set<Uid> allUids = new HashSet<>();
    final Map<String, Uid> everBound = new LinkedHashMap<>();
    final Set<String> boundByEffect = new HashSet<>();
    final Map<Uid, Uid> successor = new HashMap<>();
    final Map<String, KeyPair> deviceKeys = new HashMap<>();
    final Map<Long, Long> seen = new HashMap<>();
    final Map<Op, Integer> applied = new EnumMap<>(Op.class);
    final Map<Long, Long> allocations = new HashMap<>();
    final Map<String, Long> lastRegister = new HashMap<>();
    final List<String> log = new ArrayList<>();
    int counter;

    Run(long seed) {
      this.m = new FabricModel(seed);
      this.rnd = m.random;
      m.createChild(m.root, Alias.parse("svc"));
      m.createChild(m.root, Alias.parse("user"));
      absorb();
    }

    void step(Op op) {
      boolean ok;
      try {
        ok = run(op);
      } catch (AnfException e) {
        // A protocol step refused (the coordinator aborted what it had started).
        assertThat(e.code().isCallerError())
            .as("%s failed with a system error: %s", op, e.getMessage())
            .isTrue();
        ok = false;
      }
      if (ok) {
        applied.merge(op, 1, Integer::sum);
      }
      absorb();
    }

    /** What happened, for the failure message: every new lineage entry since the last step. */
    String history() {
      return String.join("\n", log);
    }

    // --- operations ---------------------------------------------------------------------------

    boolean run(Op op) {
      long scope = randomScope();
      Alias path = Alias.fromProto(m.fabric.meta(scope).getPath());
      switch (op) {
        case BIND -> {
          return submitChecked(m.factory.bind(scope, path.concat(randomRel()), record()));
        }
        case BIND_TAGGED -> {
          // As a provisional mutation replayed canonically would: its UID from a quorum's space.
          int tag = TAGS[rnd.nextInt(TAGS.length)];
          var mutation = m.factory.bind(scope, path.concat(randomRel()), record());
          Outcome o = m.fabric.apply(scope, m.sign(mutation), tag);
          if (o instanceof Outcome.Applied a) {
            assertThat(a.entry().getUidTag()).isEqualTo(tag);
            assertThat(java.util.Objects.requireNonNull(a.uid()).tag()).isEqualTo(tag);
          }
          return check(scope, o);
        }
        case UNBIND -> {
          String p = randomBinding(scope);
          return p != null && submitChecked(m.factory.unbind(scope, full(path, p)));
        }
        case RENAME -> {
          String p = randomBinding(scope);
          return p != null
              && submitChecked(m.factory.rename(scope, full(path, p), path.concat(randomRel())));
        }
        case MOVE_LOCAL -> {
          String p = randomBinding(scope);
          if (p == null) {
            return false;
          }
          String from = rnd.nextBoolean() ? p : Alias.splitPath(p).get(0);
          return fuseChecked(
              scope,
              from,
              () ->
                  submitChecked(
                      m.factory.moveLocal(scope, full(path, from), path.concat(randomRel()))));
        }
        case MOVE_SCOPE -> {
          // A delegated child's name moves within its parent: only if its fuse allows.
          Delegation d = randomDelegation(scope);
          if (d == null) {
            return false;
          }
          String from = Alias.joinPath(Alias.fromProto(d.getChild()).relativeTo(path));
          return fuseChecked(
              scope,
              from,
              () ->
                  submitChecked(
                      m.factory.moveLocal(
                          scope, Alias.fromProto(d.getChild()), path.concat(randomRel()))));
        }
        case MOVE_ACROSS -> {
          String p = randomBinding(scope);
          long dest = randomScope();
          if (p == null || dest == scope) {
            return false;
          }
          Alias destPath = Alias.fromProto(m.fabric.meta(dest).getPath());
          String from = rnd.nextBoolean() ? p : Alias.splitPath(p).get(0);
          return fuseChecked(
              scope,
              from,
              () -> {
                m.coordinator().move(scope, full(path, from), dest, destPath.concat(randomRel()));
                return true;
              });
        }
        case SPLIT -> {
          String label = splittableLabel(scope);
          if (label == null) {
            return false;
          }
          Policy policy = m.fabric.meta(scope).getPolicy();
          List<Long> ids =
              m.coordinator()
                  .split(
                      scope,
                      List.of(
                          new StructureCoordinator.ChildSpec(
                              label, FabricModel.anchors("a1", "a2", "a3"), policy)));
          ids.forEach(id -> m.setOwner(id, m.owner(scope)));
          return true;
        }
        case MERGE -> {
          Delegation d = randomDelegation(scope);
          if (d == null) {
            return false;
          }
          long child = d.getChildScopeId();
          String at = Alias.joinPath(Alias.fromProto(d.getChild()).relativeTo(path));
          return fuseChecked(
              scope,
              at,
              () -> {
                m.coordinator().merge(scope, child, Alias.fromProto(d.getChild()));
                return true;
              });
        }
        case TRANSFER -> {
          KeyPair old = m.owner(scope);
          KeyPair next = TestKeys.key("owner-" + counter++);
          boolean ok = submitChecked(m.factory.transfer(scope, List.of(next.publicKey()), false));
          if (ok) {
            m.setOwner(scope, next);
            // The old owner's rights ended with the transfer.
            var refused = m.apply(m.factory.bind(scope, path.concat(randomRel()), record()), old);
            assertThat(refused).isInstanceOf(Outcome.Refused.class);
            assertThat(((Outcome.Refused) refused).error().code())
                .isIn(ErrorCode.NOT_AUTHORIZED, ErrorCode.LOCKED);
          }
          return ok;
        }
        case ROTATE_UID -> {
          String p = randomBinding(scope);
          return p != null && submitChecked(m.factory.rotateUid(scope, full(path, p)));
        }
        case SET_POLICY -> {
          Policy p =
              m.fabric.meta(scope).getPolicy().toBuilder()
                  .setCacheTtlSeconds(1 + rnd.nextInt(300))
                  .build();
          return submitChecked(m.factory.setPolicy(scope, p));
        }
        case ADD_ANCHOR -> {
          return submitChecked(
              m.factory.addAnchor(scope, FabricModel.anchor("a" + (4 + rnd.nextInt(6)))));
        }
        case REMOVE_ANCHOR -> {
          var anchors = m.fabric.meta(scope).getAnchors().getAnchorsList();
          String id = anchors.get(rnd.nextInt(anchors.size())).getId();
          return submitChecked(m.factory.removeAnchor(scope, id));
        }
        case REGISTER_DEVICE -> {
          String hash = hex(8 + rnd.nextInt(24));
          KeyPair dev = TestKeys.key("device-" + hash);
          boolean ok =
              submitChecked(
                  m.factory.registerDevice(
                      scope, path.concat(randomRel()), hash, dev.publicKey(), record()));
          if (ok) {
            deviceKeys.put(hash, dev);
          }
          return ok;
        }
        case ROTATE_DEVICE_HASH -> {
          String prev = randomDeviceHash(scope);
          if (prev == null) {
            return false;
          }
          String next = hex(8 + rnd.nextInt(24));
          KeyPair dev = deviceKeys.get(prev);
          var mutation = m.factory.rotateDeviceHash(scope, prev, next);
          Outcome o = dev != null && rnd.nextBoolean() ? m.apply(mutation, dev) : m.apply(mutation);
          if (o instanceof Outcome.Applied && dev != null) {
            deviceKeys.put(next, dev);
          }
          return check(scope, o);
        }
        case REVOKE -> {
          if (rnd.nextBoolean()) {
            String hash = randomDeviceHash(scope);
            return hash != null && submitChecked(m.factory.revokeDevice(scope, hash, "lost"));
          }
          String p = randomBinding(scope);
          if (p == null) {
            return false;
          }
          Uid uid = m.fabric.state(scope).binding(p);
          return uid != null && submitChecked(m.factory.revokeUid(scope, uid, "compromised"));
        }
        case CREATE_SCOPE -> {
          String label = "s" + rnd.nextInt(5);
          if (m.fabric.state(scope).hasEntriesAtOrUnder(label)
              || path.size() + 1 > 8
              || m.fabric.state(scope).lockOn(label) != null) {
            return false;
          }
          Policy policy =
              Policies.ownedBy(m.owner(scope).publicKey()).toBuilder()
                  .setParentMayReclaim(rnd.nextInt(3) > 0)
                  .build();
          try {
            m.createChild(scope, path.concat(List.of(label)), policy);
            return true;
          } catch (AnfException e) {
            return false;
          }
        }
        case FORGED -> {
          // A signature over other bytes, and a key without the right: refused, nothing changes.
          var mutation = m.factory.bind(scope, path.concat(randomRel()), record());
          var signed = m.sign(mutation);
          var forged =
              signed.toBuilder()
                  .setSignature(
                      m.sign(m.factory.bind(scope, path.concat(randomRel()), record()))
                          .getSignature())
                  .build();
          byte[] before = StateDigest.of(m.fabric.state(scope).kv());
          assertRefused(m.fabric.apply(scope, forged), ErrorCode.BAD_SIGNATURE);
          assertRefused(m.apply(mutation, TestKeys.key("stranger")), ErrorCode.NOT_AUTHORIZED);
          assertThat(StateDigest.of(m.fabric.state(scope).kv())).isEqualTo(before);
          return true;
        }
      }
      return false;
    }

    /**
     * Runs {@code op}, which would take the subtree at {@code rel} away from {@code scope}: when
     * the subtree holds a child recorded as emancipated (parent_may_reclaim false) it must be
     * refused with the fuse as the reason, and the scope left as it was.
     */
    boolean fuseChecked(long scope, String rel, java.util.function.BooleanSupplier op) {
      String fused = fusedDelegationAtOrUnder(scope, rel);
      if (fused == null) {
        return op.getAsBoolean();
      }
      byte[] before = StateDigest.of(m.fabric.state(scope).kv());
      String why;
      try {
        boolean ok = op.getAsBoolean();
        assertThat(ok).as("taking %s away from its parent went through", fused).isFalse();
        why = "refused";
      } catch (AnfException e) {
        // A step that is invalid on its own (a subtree moved onto itself, say) is refused before
        // the fuse is consulted; any refusal on authority must name the fuse.
        assertThat(e.code())
            .as(e.getMessage())
            .isIn(ErrorCode.NOT_AUTHORIZED, ErrorCode.INVALID_ARGUMENT);
        why = String.valueOf(e.getMessage());
        if (e.code() == ErrorCode.NOT_AUTHORIZED) {
          assertThat(why).contains("parent_may_reclaim is false");
        }
      }
      assertThat(StateDigest.of(m.fabric.state(scope).kv()))
          .as("a refused reclaim of %s (%s) changed the scope", fused, why)
          .isEqualTo(before);
      Statistics.label("emancipated children kept").collect(true);
      return false;
    }

    @Nullable String fusedDelegationAtOrUnder(long scope, String rel) {
      ScopeState s = m.fabric.state(scope);
      String[] found = {null};
      s.scanSubtree(
          StateKeys.DELEGATION,
          rel,
          (k, v) -> {
            Delegation d = ScopeState.parse(v, Delegation.parser());
            if (d.hasParentMayReclaim() && !d.getParentMayReclaim()) {
              found[0] = d.getChild().getText();
              return false;
            }
            return true;
          });
      return found[0];
    }

    boolean submitChecked(org.anf.proto.v1.Mutation mutation) {
      return check(mutation.getScopeId(), m.apply(mutation));
    }

    /** A refused mutation must leave the scope exactly as it was. */
    boolean check(long scope, Outcome o) {
      if (o instanceof Outcome.Refused r) {
        assertThat(r.error().code().isCallerError())
            .as("refused with a system error: %s", r.error().getMessage())
            .isTrue();
        if (r.error().code() == ErrorCode.NOT_AUTHORIZED) {
          // Only for the fuse (checked by fuseChecked): every key here holds every right.
          assertThat(r.error().getMessage()).contains("parent_may_reclaim");
        }
        return false;
      }
      return o instanceof Outcome.Applied;
    }

    static void assertRefused(Outcome o, ErrorCode code) {
      assertThat(o).isInstanceOf(Outcome.Refused.class);
      assertThat(((Outcome.Refused) o).error().code()).isEqualTo(code);
    }

    // --- the model follows the lineage ---------------------------------------------------------

    /**
     * Reads every new lineage entry of every scope (what each allocated, which UID succeeds which),
     * then scans every scope's state: the aliases bound now, whatever mutation bound them, and
     * every UID the state holds.
     */
    void absorb() {
      for (long scope : new ArrayList<>(m.fabric.scopes().keySet())) {
        long from = seen.getOrDefault(scope, 0L);
        ScopeState s = m.fabric.state(scope);
        long head = s.headSeq();
        for (long seq = from + 1; seq <= head; seq++) {
          LineageEntry e = java.util.Objects.requireNonNull(s.lineage(seq), "missing entry");
          log.add(describe(scope, seq, e));
          for (EffectItem item : e.getEffect().getItemsList()) {
            switch (item.getKind()) {
              case EFFECT_KIND_BOUND, EFFECT_KIND_DEVICE_REGISTERED -> {
                allocated(scope, e, Uid.fromProto(item.getUid()));
                boundByEffect.add(Alias.fromProto(item.getAlias()).toString());
              }
              case EFFECT_KIND_UID_ROTATED -> {
                Uid next = Uid.fromProto(item.getSuccessor());
                allocated(scope, e, next);
                successor.put(Uid.fromProto(item.getUid()), next);
              }
              default -> {}
            }
          }
        }
        seen.put(scope, head);
      }
      scanState();
    }

    String describe(long scope, long seq, LineageEntry e) {
      StringBuilder line =
          new StringBuilder("scope " + m.fabric.meta(scope).getPath().getText() + " #" + seq + ":");
      if (e.getUidTag() != 0) {
        line.append(" [uid space ").append(e.getUidTag()).append(']');
      }
      for (EffectItem item : e.getEffect().getItemsList()) {
        line.append(' ')
            .append(item.getKind().name().substring(12))
            .append(' ')
            .append(item.getAlias().getText());
        if (item.hasUid()) {
          line.append(' ').append(Uid.fromProto(item.getUid()));
        }
        if (item.hasTarget()) {
          line.append(" -> ").append(item.getTarget().getText());
        }
        line.append(" (").append(item.getDetail()).append(");");
      }
      return line.toString();
    }

    /** A UID an entry of {@code scope} allocated: from that scope's register, in its space. */
    void allocated(long scope, LineageEntry e, Uid uid) {
      assertThat(allUids.add(uid)).as("UID %s issued twice\n%s", uid, history()).isTrue();
      assertThat(uid.scopeId()).as("%s allocated by another scope's entry", uid).isEqualTo(scope);
      assertThat(uid.tag())
          .as("%s allocated outside its entry's space", uid)
          .isEqualTo(e.getUidTag());
      allocations.merge(scope, 1L, Long::sum);
    }

    /** Records that {@code alias} is bound to {@code uid} now; an alias is never reissued. */
    void recordBound(String alias, Uid uid) {
      Uid first = everBound.putIfAbsent(alias, uid);
      if (first != null && !first.equals(uid)) {
        assertThat(successors(first))
            .as(
                "%s, first bound to %s, is now bound to unrelated %s\n%s",
                alias, first, uid, history())
            .contains(uid);
      }
    }

    /**
     * Scans the state of every scope. Each scope's registers only grow, and the objects it
     * originated number exactly the counters its registers handed out (a UID issued twice would
     * overwrite an object and leave one fewer); every UID referenced anywhere (bindings, device
     * hashes, redirects, successors, revocations) is one its origin scope recorded; a UID is bound
     * at one alias at most across the live scopes; and every alias bound now is remembered.
     */
    void scanState() {
      Map<Uid, String> boundAt = new HashMap<>();
      List<Uid> referenced = new ArrayList<>();
      for (long scope : m.fabric.scopes().keySet()) {
        ScopeState s = m.fabric.state(scope);
        ScopeMeta meta = s.metaOrNull();
        if (meta == null) {
          continue; // a group whose genesis never came (an aborted split)
        }
        Map<Integer, Long> registers = new HashMap<>();
        s.kv()
            .scan(
                StateKeys.column(StateKeys.REGISTER),
                StateKeys.column((byte) (StateKeys.REGISTER + 1)),
                (k, v) -> {
                  int tag = ((k[1] & 0xff) << 8) | (k[2] & 0xff);
                  registers.put(tag, org.anf.lineage.kv.Bytes.toLong(v, 0));
                  return true;
                });
        long handedOut = 0;
        for (Map.Entry<Integer, Long> r : registers.entrySet()) {
          String key = scope + "/" + r.getKey();
          Long before = lastRegister.put(key, r.getValue());
          assertThat(r.getValue())
              .as("register %s went backwards", key)
              .isGreaterThanOrEqualTo(before == null ? 1 : before);
          handedOut += r.getValue() - 1;
        }
        assertThat(handedOut)
            .as("counters handed out by scope %s vs allocations in its lineage", scope)
            .isEqualTo(allocations.getOrDefault(scope, 0L));
        long[] own = {0};
        s.kv()
            .scan(
                StateKeys.column(StateKeys.OBJECT),
                StateKeys.column((byte) (StateKeys.OBJECT + 1)),
                (k, v) -> {
                  Uid uid = Uid.fromBytes(Arrays.copyOfRange(k, 1, 17));
                  ObjectState o = ScopeState.parse(v, ObjectState.parser());
                  assertThat(Uid.fromProto(o.getUid())).isEqualTo(uid);
                  if (uid.scopeId() == scope) {
                    own[0]++;
                    assertThat(uid.counter())
                        .as("%s is beyond its register", uid)
                        .isLessThan(registers.getOrDefault(uid.tag(), 1L));
                  }
                  if (o.hasSuccessor()) {
                    referenced.add(Uid.fromProto(o.getSuccessor()));
                  }
                  if (o.hasPredecessor()) {
                    referenced.add(Uid.fromProto(o.getPredecessor()));
                  }
                  return true;
                });
        assertThat(own[0])
            .as("objects originated by scope %s vs counters it handed out\n%s", scope, history())
            .isEqualTo(handedOut);
        scanValues(s, StateKeys.DEVICE, v -> referenced.add(Uid.fromBytes(v)));
        byte[] revokedUids = {StateKeys.REVOCATION, StateKeys.REVOKED_UID};
        s.kv()
            .scan(
                revokedUids,
                org.anf.lineage.kv.Bytes.prefixEnd(revokedUids),
                (k, v) -> {
                  referenced.add(Uid.fromBytes(Arrays.copyOfRange(k, 2, 18)));
                  return true;
                });
        scanValues(
            s,
            StateKeys.REDIRECT,
            v -> {
              RedirectState r = ScopeState.parse(v, RedirectState.parser());
              if (r.hasUid()) {
                referenced.add(Uid.fromProto(r.getUid()));
              }
            });
        boolean live =
            !m.fabric.isDissolved(scope)
                && meta.getLifecycle() != ScopeLifecycle.SCOPE_LIFECYCLE_SEALED;
        Alias path = Alias.fromProto(meta.getPath());
        s.kv()
            .scan(
                StateKeys.column(StateKeys.BINDING),
                StateKeys.column((byte) (StateKeys.BINDING + 1)),
                (k, v) -> {
                  Uid uid = Uid.fromBytes(v);
                  referenced.add(uid);
                  if (live) {
                    String alias = full(path, StateKeys.pathOf(k)).toString();
                    String other = boundAt.put(uid, alias);
                    assertThat(other).as("%s bound at %s and at %s", uid, other, alias).isNull();
                    ObjectState o = s.object(uid);
                    assertThat(o).as("binding %s has no object", alias).isNotNull();
                    recordBound(alias, uid);
                  }
                  return true;
                });
      }
      for (Uid uid : referenced) {
        assertThat(m.fabric.scopes())
            .as("%s names a scope that never existed", uid)
            .containsKey(uid.scopeId());
        assertThat(m.fabric.state(uid.scopeId()).object(uid))
            .as("%s is held but its origin scope never allocated it", uid)
            .isNotNull();
      }
    }

    void scanValues(ScopeState s, byte column, java.util.function.Consumer<byte[]> each) {
      s.kv()
          .scan(
              StateKeys.column(column),
              StateKeys.column((byte) (column + 1)),
              (k, v) -> {
                each.accept(v);
                return true;
              });
    }

    void checkContinuity() {
      for (Map.Entry<String, Uid> e : everBound.entrySet()) {
        Alias alias = Alias.parse(e.getKey());
        LookupResult r;
        try {
          r = m.fabric.resolve(alias);
        } catch (RuntimeException ex) {
          throw new AssertionError(
              "resolving " + alias + " threw " + ex + "\nhistory:\n" + history(), ex);
        }
        Set<Uid> acceptable = successors(e.getValue());
        String what =
            alias
                + " (bound to "
                + e.getValue()
                + ") resolved to "
                + r
                + "\nhistory:\n"
                + history();
        switch (r.getStatus()) {
          case LOOKUP_STATUS_EXACT, LOOKUP_STATUS_REDIRECTED, LOOKUP_STATUS_REVOKED ->
              assertThat(acceptable).as(what).contains(Uid.fromProto(r.getUid()));
          case LOOKUP_STATUS_NOT_FOUND -> {
            assertThat(r.getRetired()).as(what).isTrue();
            assertThat(acceptable).as(what).contains(Uid.fromProto(r.getUid()));
          }
          default -> throw new AssertionError(what);
        }
      }
    }

    Set<Uid> successors(Uid uid) {
      Set<Uid> out = new HashSet<>();
      Uid u = uid;
      while (u != null && out.add(u)) {
        u = successor.get(u);
      }
      return out;
    }

    void checkReplay() {
      for (long scope : m.fabric.scopes().keySet()) {
        List<LineageEntry> chain = m.fabric.lineage(scope);
        ScopeState s = m.fabric.state(scope);
        var report =
            ChainVerifier.verify(
                chain,
                new ChainVerifier.Options()
                    .replay(true)
                    .head(
                        new ChainVerifier.Head(
                            s.headSeq(), com.google.protobuf.ByteString.copyFrom(s.headHash()))));
        assertThat(report.ok()).as(report.toString()).isTrue();
        MemoryKv rebuilt = ChainVerifier.rebuild(chain);
        assertThat(Arrays.equals(StateDigest.of(rebuilt), StateDigest.of(s.kv())))
            .as("replayed digest of scope %s", scope)
            .isTrue();
      }
    }

    // --- choosing targets ----------------------------------------------------------------------

    long randomScope() {
      List<Long> active = new ArrayList<>();
      for (long id : m.fabric.scopes().keySet()) {
        ScopeMeta meta = m.fabric.meta(id);
        if (!m.fabric.isDissolved(id)
            && meta.getLifecycle() == ScopeLifecycle.SCOPE_LIFECYCLE_ACTIVE) {
          active.add(id);
        }
      }
      return active.get(rnd.nextInt(active.size()));
    }

    List<String> randomRel() {
      int n = 1 + rnd.nextInt(3);
      List<String> out = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        out.add(String.valueOf((char) ('a' + rnd.nextInt(5))));
      }
      return out;
    }

    static Alias full(Alias scope, String rel) {
      return scope.concat(Alias.splitPath(rel));
    }

    List<String> keys(long scope, byte column) {
      List<String> out = new ArrayList<>();
      m.fabric
          .state(scope)
          .kv()
          .scan(
              StateKeys.column(column),
              StateKeys.column((byte) (column + 1)),
              (k, v) -> {
                out.add(StateKeys.pathOf(k));
                return true;
              });
      return out;
    }

    @Nullable String randomBinding(long scope) {
      List<String> b = keys(scope, StateKeys.BINDING);
      b.removeIf(String::isEmpty);
      return b.isEmpty() ? null : b.get(rnd.nextInt(b.size()));
    }

    @Nullable String randomDeviceHash(long scope) {
      List<String> h = keys(scope, StateKeys.DEVICE);
      return h.isEmpty() ? null : h.get(rnd.nextInt(h.size()));
    }

    @Nullable String splittableLabel(long scope) {
      ScopeState s = m.fabric.state(scope);
      List<String> labels = new ArrayList<>();
      for (String p : keys(scope, StateKeys.BINDING)) {
        if (p.isEmpty()) {
          continue;
        }
        String first = Alias.splitPath(p).get(0);
        var r = s.redirect(first);
        if (s.delegation(first) == null && (r == null || r.hasUid()) && s.lockOn(first) == null) {
          labels.add(first);
        }
      }
      return labels.isEmpty() ? null : labels.get(rnd.nextInt(labels.size()));
    }

    @Nullable Delegation randomDelegation(long scope) {
      List<Delegation> ds = new ArrayList<>();
      ScopeState s = m.fabric.state(scope);
      for (String p : keys(scope, StateKeys.DELEGATION)) {
        Delegation d = s.delegation(p);
        if (d != null
            && !m.fabric.isDissolved(d.getChildScopeId())
            && m.fabric.state(d.getChildScopeId()).openTxns().isEmpty()) {
          ds.add(d);
        }
      }
      return ds.isEmpty() ? null : ds.get(rnd.nextInt(ds.size()));
    }

    ObjectRecord record() {
      return ObjectRecord.newBuilder()
          .setKind(ObjectKind.OBJECT_KIND_SERVICE)
          .addEndpoints(
              Endpoint.newBuilder()
                  .setHost("10.0.0." + rnd.nextInt(255))
                  .setPort(1 + rnd.nextInt(65535)))
          .build();
    }

    String hex(int n) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < n; i++) {
        sb.append(Character.forDigit(rnd.nextInt(16), 16));
      }
      return sb.toString();
    }
  }
}
