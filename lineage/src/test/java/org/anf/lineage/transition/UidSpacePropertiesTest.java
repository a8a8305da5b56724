package org.anf.lineage.transition;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
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
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.kv.MemoryKv;
import org.anf.lineage.mutation.Signing;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.state.StateDigest;
import org.anf.lineage.state.StateKeys;
import org.anf.lineage.testing.FabricModel;
import org.anf.lineage.testing.TestKeys;
import org.anf.lineage.uid.Uid;
import org.anf.proto.v1.EffectItem;
import org.anf.proto.v1.Endpoint;
import org.anf.proto.v1.LineageEntry;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.ObjectRecord;
import org.junit.jupiter.api.Test;

/**
 * UIDs from the canonical space and from the tagged sub-spaces of isolated quorums, allocated
 * interleaved in one scope: none collides with another, none repeats, not after unbind, and not
 * after the lineage is replayed from an empty state and allocation goes on from the rebuilt state.
 */
class UidSpacePropertiesTest {
  static final int OPS = 24;

  @Property(tries = 1000, afterFailure = AfterFailureMode.SAMPLE_ONLY)
  void canonicalAndTaggedAllocationsNeverCollideNorRepeat(@ForAll long seed) {
    FabricModel m = new FabricModel(seed);
    Random rnd = m.random;
    long scope = m.createChild(m.root, Alias.parse("svc"));
    // The canonical space, two quorums' spaces, sometimes the widest tag.
    int[] tags = {Uid.CANONICAL_TAG, 1 + rnd.nextInt(8), rnd.nextBoolean() ? Uid.MAX_TAG : 9};
    Set<Uid> issued = new HashSet<>();
    Map<Integer, Long> lastCounter = new HashMap<>();
    List<Alias> bound = new ArrayList<>();
    int names = 0;
    for (int i = 0; i < OPS; i++) {
      int tag = tags[rnd.nextInt(tags.length)];
      Mutation mutation;
      Alias fresh = Alias.parse("svc@n" + names++);
      int op = bound.isEmpty() ? 0 : rnd.nextInt(4);
      switch (op) {
        case 0 -> mutation = m.factory.bind(scope, fresh, record(rnd));
        case 1 -> mutation = m.factory.rotateUid(scope, bound.get(rnd.nextInt(bound.size())));
        case 2 -> {
          KeyPair device = TestKeys.key("device-" + seed + "-" + i);
          mutation =
              m.factory.registerDevice(
                  scope,
                  fresh,
                  "d" + Long.toHexString(seed & 0xffffff) + i,
                  device.publicKey(),
                  record(rnd));
        }
        default -> mutation = m.factory.unbind(scope, bound.remove(rnd.nextInt(bound.size())));
      }
      Outcome o = m.fabric.apply(scope, m.sign(mutation), tag);
      assertThat(o).as("op %d in space %d: %s", op, tag, o).isInstanceOf(Outcome.Applied.class);
      LineageEntry entry = ((Outcome.Applied) o).entry();
      assertThat(entry.getUidTag()).isEqualTo(tag);
      if (op == 0 || op == 2) {
        bound.add(fresh);
      }
      for (Uid uid : allocatedBy(entry)) {
        assertThat(issued.add(uid)).as("%s issued twice", uid).isTrue();
        assertThat(uid.scopeId()).isEqualTo(scope);
        assertThat(uid.tag()).as("%s outside space %d", uid, tag).isEqualTo(tag);
        Long last = lastCounter.put(tag, uid.counter());
        assertThat(uid.counter()).isGreaterThan(last == null ? 0 : last);
        Statistics.label("space").collect(tag == Uid.CANONICAL_TAG ? "canonical" : "tagged");
      }
    }
    ScopeState s = m.fabric.state(scope);
    // Every object the scope holds is one it issued, and each register is one past its last.
    assertThat(objectUids(s)).isEqualTo(issued);
    lastCounter.forEach((tag, last) -> assertThat(s.nextCounter(tag)).isEqualTo(last + 1));

    // Replay from an empty state: same digest (which covers the registers and the head hash, so
    // every replayed entry is the recorded one), same UIDs. Signatures were checked as applied.
    List<LineageEntry> chain = m.fabric.lineage(scope);
    ChainVerifier.Report report =
        ChainVerifier.verify(
            chain,
            new ChainVerifier.Options()
                .signatures(false)
                .head(new ChainVerifier.Head(s.headSeq(), ByteString.copyFrom(s.headHash()))));
    assertThat(report.ok()).as(report.toString()).isTrue();
    MemoryKv rebuilt = ChainVerifier.rebuild(chain);
    assertThat(StateDigest.of(rebuilt)).isEqualTo(StateDigest.of(s.kv()));
    assertThat(objectUids(new ScopeState(rebuilt))).isEqualTo(issued);

    // Allocation goes on from the rebuilt state in every space without reissuing anything.
    for (int tag : tags) {
      Mutation more = m.factory.bind(scope, Alias.parse("svc@after" + tag), record(rnd));
      Outcome o =
          Transitions.apply(
              rebuilt, Signing.sign(more, m.owner(scope)), Transitions.Verify.SIGNATURE, tag);
      Uid uid = java.util.Objects.requireNonNull(((Outcome.Applied) o).uid());
      assertThat(issued).doesNotContain(uid);
      assertThat(uid.tag()).isEqualTo(tag);
      rebuilt.apply(((Outcome.Applied) o).writes());
      issued.add(uid);
    }
  }

  @Test
  void aTagOutsideTheSixteenBitSpaceIsRefusedAndChangesNothing() {
    FabricModel m = new FabricModel(3);
    long scope = m.createChild(m.root, Alias.parse("svc"));
    byte[] before = StateDigest.of(m.fabric.state(scope).kv());
    for (int tag : new int[] {-1, Uid.MAX_TAG + 1}) {
      Outcome o =
          m.fabric.apply(
              scope,
              m.sign(
                  m.factory.bind(scope, Alias.parse("svc@x"), ObjectRecord.getDefaultInstance())),
              tag);
      assertThat(o).isInstanceOf(Outcome.Refused.class);
      assertThat(((Outcome.Refused) o).error().code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
      assertThat(((Outcome.Refused) o).error().getMessage()).contains("uid_tag");
    }
    assertThat(StateDigest.of(m.fabric.state(scope).kv())).isEqualTo(before);
  }

  @Test
  void aCanonicalEntryHashesAsBeforeAndATaggedOneCommitsToItsTag() {
    FabricModel m = new FabricModel(5);
    long scope = m.createChild(m.root, Alias.parse("svc"));
    Outcome o =
        m.fabric.apply(
            scope,
            m.sign(m.factory.bind(scope, Alias.parse("svc@x"), ObjectRecord.getDefaultInstance())),
            7);
    LineageEntry tagged = ((Outcome.Applied) o).entry();
    assertThat(Uid.fromProto(tagged.getEffect().getItems(0).getUid()).text())
        .contains("-0007-000000000001");
    // Moving the entry to another space, or back to the canonical one, is an edit.
    for (int other : new int[] {0, 8}) {
      LineageEntry moved = tagged.toBuilder().setUidTag(other).build();
      assertThat(org.anf.lineage.chain.Canonical.entryHash(moved))
          .isNotEqualTo(tagged.getHash().toByteArray());
    }
    // An entry of the canonical space still hashes without a tag field.
    LineageEntry canonical = m.fabric.lineage(scope).get(0);
    assertThat(canonical.getUidTag()).isZero();
    assertThat(org.anf.lineage.chain.Canonical.entryHash(canonical))
        .isEqualTo(canonical.getHash().toByteArray());
  }

  static List<Uid> allocatedBy(LineageEntry e) {
    List<Uid> out = new ArrayList<>();
    for (EffectItem item : e.getEffect().getItemsList()) {
      switch (item.getKind()) {
        case EFFECT_KIND_BOUND, EFFECT_KIND_DEVICE_REGISTERED ->
            out.add(Uid.fromProto(item.getUid()));
        case EFFECT_KIND_UID_ROTATED -> out.add(Uid.fromProto(item.getSuccessor()));
        default -> {}
      }
    }
    return out;
  }

  static Set<Uid> objectUids(ScopeState s) {
    Set<Uid> out = new HashSet<>();
    s.kv()
        .scan(
            StateKeys.column(StateKeys.OBJECT),
            StateKeys.column((byte) (StateKeys.OBJECT + 1)),
            (k, v) -> {
              out.add(Uid.fromBytes(Arrays.copyOfRange(k, 1, 17)));
              return true;
            });
    return out;
  }

  static ObjectRecord record(Random rnd) {
    return ObjectRecord.newBuilder()
        .addEndpoints(Endpoint.newBuilder().setHost("10.2.0." + rnd.nextInt(255)).setPort(443))
        .build();
  }
}
