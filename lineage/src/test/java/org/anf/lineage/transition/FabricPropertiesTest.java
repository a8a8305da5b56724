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
import org.anf.proto.v1.Policy;
import org.anf.proto.v1.ScopeLifecycle;
import org.anf.proto.v1.ScopeMeta;
import org.jspecify.annotations.Nullable;

/**
 * Random sequences of mutations of every kind over an in-memory fabric of scopes, checked against
 * the three promises of lineage: UIDs never repeat; every alias ever bound resolves to its UID,
 * that UID's successor, or "retired"; and replaying each scope's lineage on an empty state gives
 * the same state digest (and a chain that verifies).
 */
class FabricPropertiesTest {
  static final int OPS = 40;

  enum Op {
    BIND,
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
    FORGED
  }

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
    run.applied.forEach((op, n) -> Statistics.label("mutations applied").collect(op));
  }

  static final class Run {
    final FabricModel m;
    final Random rnd;
    final Set<Uid> allUids = new HashSet<>();
    final Map<String, Uid> everBound = new LinkedHashMap<>();
    final Map<Uid, Uid> successor = new HashMap<>();
    final Map<String, KeyPair> deviceKeys = new HashMap<>();
    final Map<Long, Long> seen = new HashMap<>();
    final Map<Op, Integer> applied = new EnumMap<>(Op.class);
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
          return submitChecked(
              m.factory.moveLocal(scope, full(path, from), path.concat(randomRel())));
        }
        case MOVE_ACROSS -> {
          String p = randomBinding(scope);
          long dest = randomScope();
          if (p == null || dest == scope) {
            return false;
          }
          Alias destPath = Alias.fromProto(m.fabric.meta(dest).getPath());
          String from = rnd.nextBoolean() ? p : Alias.splitPath(p).get(0);
          m.coordinator().move(scope, full(path, from), dest, destPath.concat(randomRel()));
          return true;
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
          m.setOwner(child, m.owner(child));
          m.coordinator().merge(scope, child, Alias.fromProto(d.getChild()));
          return true;
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
          try {
            m.createChild(scope, path.concat(List.of(label)));
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

    boolean submitChecked(org.anf.proto.v1.Mutation mutation) {
      return check(mutation.getScopeId(), m.apply(mutation));
    }

    /** A refused mutation must leave the scope exactly as it was. */
    boolean check(long scope, Outcome o) {
      if (o instanceof Outcome.Refused r) {
        assertThat(r.error().code().isCallerError())
            .as("refused with a system error: %s", r.error().getMessage())
            .isTrue();
        return false;
      }
      return o instanceof Outcome.Applied;
    }

    static void assertRefused(Outcome o, ErrorCode code) {
      assertThat(o).isInstanceOf(Outcome.Refused.class);
      assertThat(((Outcome.Refused) o).error().code()).isEqualTo(code);
    }

    // --- the model follows the lineage ---------------------------------------------------------

    /** Reads every new lineage entry of every scope and records what it allocated. */
    void absorb() {
      for (long scope : new ArrayList<>(m.fabric.scopes().keySet())) {
        long from = seen.getOrDefault(scope, 0L);
        ScopeState s = m.fabric.state(scope);
        long head = s.headSeq();
        for (long seq = from + 1; seq <= head; seq++) {
          LineageEntry e = java.util.Objects.requireNonNull(s.lineage(seq), "missing entry");
          StringBuilder line =
              new StringBuilder(
                  "scope " + m.fabric.meta(scope).getPath().getText() + " #" + seq + ":");
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
          log.add(line.toString());
          for (EffectItem item : e.getEffect().getItemsList()) {
            switch (item.getKind()) {
              case EFFECT_KIND_BOUND, EFFECT_KIND_DEVICE_REGISTERED -> {
                Uid uid = Uid.fromProto(item.getUid());
                assertThat(allUids.add(uid)).as("UID %s issued twice", uid).isTrue();
                everBound.put(item.getAlias().getText(), uid);
              }
              case EFFECT_KIND_UID_ROTATED -> {
                Uid next = Uid.fromProto(item.getSuccessor());
                assertThat(allUids.add(next)).as("UID %s issued twice", next).isTrue();
                successor.put(Uid.fromProto(item.getUid()), next);
              }
              default -> {}
            }
          }
        }
        seen.put(scope, head);
      }
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
