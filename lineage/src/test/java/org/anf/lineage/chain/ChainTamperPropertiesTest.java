package org.anf.lineage.chain;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.transition.Outcome;
import org.anf.proto.v1.Effect;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.ObjectRecord;

/** Editing, dropping or reordering any one entry of a chain is reported, naming the entry. */
class ChainTamperPropertiesTest {

  enum Tamper {
    EDIT_MUTATION,
    EDIT_EFFECT,
    EDIT_DELTA_HASH,
    EDIT_POLICY_VERSION,
    EDIT_UID_TAG,
    EDIT_AND_REHASH,
    DROP,
    REORDER
  }

  /** The kinds of mutation a generated chain is made of (besides its genesis). */
  enum Kind {
    BIND,
    BIND_TAGGED,
    RENAME,
    UNBIND,
    ROTATE_UID,
    TRANSFER,
    SET_POLICY,
    MOVE_LOCAL,
    REGISTER_DEVICE,
    ROTATE_DEVICE_HASH,
    REVOKE_DEVICE
  }

  @Property(tries = 1000, afterFailure = AfterFailureMode.SAMPLE_ONLY)
  void anyOneTamperedEntryIsDetectedAndNamed(
      @ForAll long seed, @ForAll @IntRange(min = 2, max = 30) int length, @ForAll Tamper tamper) {
    Chain c = chain(seed, length);
    c.kinds.forEach(k -> Statistics.label("kinds in chains").collect(k));
    Random rnd = new Random(seed ^ 0x5DEECE66DL);
    List<LineageEntry> tampered = new ArrayList<>(c.entries);
    int n = tampered.size();
    int i = rnd.nextInt(n);
    LineageEntry e = tampered.get(i);
    // What the report must say: which entry (index in the tampered chain, and its seq) and what.
    List<Expect> expected = new ArrayList<>();
    switch (tamper) {
      case EDIT_MUTATION -> {
        byte[] m = e.getMutation().getMutation().toByteArray();
        m[rnd.nextInt(m.length)] ^= (byte) (1 + rnd.nextInt(255));
        tampered.set(
            i,
            e.toBuilder()
                .setMutation(e.getMutation().toBuilder().setMutation(ByteString.copyFrom(m)))
                .build());
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.EDITED, ""));
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.BAD_SIGNATURE, ""));
      }
      case EDIT_EFFECT -> {
        tampered.set(
            i,
            e.toBuilder()
                .setEffect(
                    Effect.newBuilder()
                        .addAllItems(e.getEffect().getItemsList())
                        .addItems(EffectItem.newBuilder().setDetail("forged")))
                .build());
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.EDITED, ""));
      }
      case EDIT_DELTA_HASH -> {
        tampered.set(i, e.toBuilder().setDeltaHash(ByteString.copyFrom(new byte[32])).build());
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.EDITED, ""));
      }
      case EDIT_POLICY_VERSION -> {
        tampered.set(i, e.toBuilder().setPolicyVersion(e.getPolicyVersion() + 1).build());
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.EDITED, ""));
      }
      case EDIT_UID_TAG -> {
        // Claiming another UID space (or the canonical one) for the entry.
        tampered.set(i, e.toBuilder().setUidTag(e.getUidTag() == 0 ? 1 : 0).build());
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.EDITED, ""));
      }
      case EDIT_AND_REHASH -> {
        // A careful forger recomputes the entry's own hash: the replay names it, and the next
        // link (or the head) gives it away too.
        LineageEntry edited =
            e.toBuilder()
                .setEffect(
                    Effect.newBuilder().addItems(EffectItem.newBuilder().setDetail("rewritten")))
                .build();
        tampered.set(
            i,
            edited.toBuilder().setHash(ByteString.copyFrom(Canonical.entryHash(edited))).build());
        expected.add(new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.REPLAY_MISMATCH, ""));
        expected.add(
            i + 1 < n
                ? new Expect(
                    i + 1,
                    e.getSeq() + 1,
                    ChainVerifier.ProblemKind.BROKEN_LINK,
                    "seq " + e.getSeq())
                : new Expect(i, e.getSeq(), ChainVerifier.ProblemKind.HEAD_MISMATCH, ""));
      }
      case DROP -> {
        tampered.remove(i);
        String gap = e.getSeq() + ".." + e.getSeq();
        expected.add(
            i + 1 < n
                ? new Expect(i, e.getSeq() + 1, ChainVerifier.ProblemKind.DROPPED, gap)
                : new Expect(
                    i - 1,
                    e.getSeq() - 1,
                    ChainVerifier.ProblemKind.HEAD_MISMATCH,
                    "head is seq " + e.getSeq()));
      }
      case REORDER -> {
        int j = (i + 1 + rnd.nextInt(n - 1)) % n;
        LineageEntry other = tampered.get(j);
        tampered.set(i, other);
        tampered.set(j, e);
        int a = Math.min(i, j);
        int b = Math.max(i, j);
        LineageEntry first = c.entries.get(a);
        LineageEntry second = c.entries.get(b);
        // The later entry comes first, the earlier one after it: both named, as out of order.
        expected.add(new Expect(a, second.getSeq(), ChainVerifier.ProblemKind.OUT_OF_ORDER, ""));
        expected.add(new Expect(b, first.getSeq(), ChainVerifier.ProblemKind.OUT_OF_ORDER, ""));
      }
    }
    ChainVerifier.Report report =
        ChainVerifier.verify(tampered, new ChainVerifier.Options().replay(true).head(c.head));
    assertThat(report.ok()).as("%s of entry #%d went unnoticed", tamper, i).isFalse();
    for (Expect x : expected) {
      assertThat(report.problems())
          .as("%s of entry #%d (seq %d): expected %s in\n%s", tamper, i, e.getSeq(), x, report)
          .anySatisfy(
              p -> {
                assertThat(p.index()).isEqualTo(x.index());
                assertThat(p.seq()).isEqualTo(x.seq());
                assertThat(p.kind()).isEqualTo(x.kind());
                assertThat(p.message()).contains(x.says());
                assertThat(p.toString()).contains("entry #" + x.index() + " (seq " + x.seq() + ")");
              });
    }
    Statistics.label("first problem").collect(report.problems().get(0).kind());
    // The untouched chain verifies.
    assertThat(
            ChainVerifier.verify(c.entries, new ChainVerifier.Options().replay(true).head(c.head))
                .ok())
        .isTrue();
  }

  /** A problem the report must hold: at this index, this seq, of this kind, saying this. */
  record Expect(int index, long seq, ChainVerifier.ProblemKind kind, String says) {}

  record Chain(List<LineageEntry> entries, ChainVerifier.Head head, List<Kind> kinds) {}

  /**
   * A root scope's lineage after a random run of mutations of many kinds: binds (some in a quorum's
   * UID space), renames, unbinds, UID rotations, owner transfers, policy changes, moves within the
   * scope, device registrations, hash rotations (by the device or the owner) and revocations.
   */
  static Chain chain(long seed, int length) {
    FabricModel m = new FabricModel(seed);
    Random rnd = m.random;
    List<Alias> bound = new ArrayList<>();
    List<String> devices = new ArrayList<>();
    Map<String, KeyPair> deviceKeys = new HashMap<>();
    List<Kind> kinds = new ArrayList<>();
    int n = 0;
    while (m.fabric.state(m.root).headSeq() < length) {
      Alias a = Alias.parse("svc@x" + n++);
      Kind kind = Kind.values()[rnd.nextInt(Kind.values().length)];
      if (bound.isEmpty()
          && (kind == Kind.RENAME
              || kind == Kind.UNBIND
              || kind == Kind.ROTATE_UID
              || kind == Kind.MOVE_LOCAL)) {
        kind = Kind.BIND;
      }
      if (devices.isEmpty() && (kind == Kind.ROTATE_DEVICE_HASH || kind == Kind.REVOKE_DEVICE)) {
        kind = Kind.REGISTER_DEVICE;
      }
      Outcome o =
          switch (kind) {
            case BIND -> m.apply(m.factory.bind(m.root, a, record(rnd)));
            case BIND_TAGGED ->
                m.fabric.apply(
                    m.root, m.sign(m.factory.bind(m.root, a, record(rnd))), 1 + rnd.nextInt(3));
            case RENAME ->
                m.apply(m.factory.rename(m.root, bound.remove(rnd.nextInt(bound.size())), a));
            case UNBIND ->
                m.apply(m.factory.unbind(m.root, bound.remove(rnd.nextInt(bound.size()))));
            case ROTATE_UID ->
                m.apply(m.factory.rotateUid(m.root, bound.get(rnd.nextInt(bound.size()))));
            case TRANSFER -> {
              KeyPair next = TestKeys.key("owner-" + seed + "-" + n);
              Outcome t = m.apply(m.factory.transfer(m.root, List.of(next.publicKey()), false));
              m.setOwner(m.root, next);
              yield t;
            }
            case SET_POLICY ->
                m.apply(
                    m.factory.setPolicy(
                        m.root,
                        m.fabric.meta(m.root).getPolicy().toBuilder()
                            .setCacheTtlSeconds(1 + rnd.nextInt(600))
                            .build()));
            case MOVE_LOCAL ->
                m.apply(m.factory.moveLocal(m.root, bound.remove(rnd.nextInt(bound.size())), a));
            case REGISTER_DEVICE -> {
              String hash = "h" + n;
              KeyPair key = TestKeys.key("device-" + seed + "-" + n);
              deviceKeys.put(hash, key);
              devices.add(hash);
              yield m.apply(
                  m.factory.registerDevice(m.root, a, hash, key.publicKey(), record(rnd)));
            }
            case ROTATE_DEVICE_HASH -> {
              String prev = devices.remove(rnd.nextInt(devices.size()));
              String next = "h" + n;
              KeyPair key = java.util.Objects.requireNonNull(deviceKeys.get(prev));
              deviceKeys.put(next, key);
              devices.add(next);
              var rotate = m.factory.rotateDeviceHash(m.root, prev, next);
              yield rnd.nextBoolean() ? m.apply(rotate, key) : m.apply(rotate);
            }
            case REVOKE_DEVICE ->
                m.apply(
                    m.factory.revokeDevice(
                        m.root, devices.remove(rnd.nextInt(devices.size())), "lost"));
          };
      assertThat(o).as("%s: %s", kind, o).isInstanceOf(Outcome.Applied.class);
      kinds.add(kind);
      if (kind == Kind.BIND
          || kind == Kind.BIND_TAGGED
          || kind == Kind.RENAME
          || kind == Kind.MOVE_LOCAL) {
        bound.add(a);
      }
    }
    ScopeState s = m.fabric.state(m.root);
    return new Chain(
        m.fabric.lineage(m.root),
        new ChainVerifier.Head(s.headSeq(), ByteString.copyFrom(s.headHash())),
        kinds);
  }

  static ObjectRecord record(Random rnd) {
    return ObjectRecord.newBuilder()
        .addEndpoints(Endpoint.newBuilder().setHost("10.1.0." + rnd.nextInt(255)).setPort(443))
        .build();
  }
}
