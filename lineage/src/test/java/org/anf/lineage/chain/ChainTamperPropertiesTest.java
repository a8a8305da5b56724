package org.anf.lineage.chain;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import net.jqwik.api.AfterFailureMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.statistics.Statistics;
import org.anf.lineage.alias.Alias;
import org.anf.lineage.state.ScopeState;
import org.anf.lineage.testing.FabricModel;
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
    EDIT_AND_REHASH,
    DROP,
    REORDER
  }

  @Property(tries = 1000, afterFailure = AfterFailureMode.SAMPLE_ONLY)
  void anyOneTamperedEntryIsDetected(
      @ForAll long seed, @ForAll @IntRange(min = 2, max = 30) int length, @ForAll Tamper tamper) {
    Chain c = chain(seed, length);
    Random rnd = new Random(seed ^ 0x5DEECE66DL);
    List<LineageEntry> tampered = new ArrayList<>(c.entries);
    int i = rnd.nextInt(tampered.size());
    LineageEntry e = tampered.get(i);
    switch (tamper) {
      case EDIT_MUTATION -> {
        byte[] m = e.getMutation().getMutation().toByteArray();
        m[rnd.nextInt(m.length)] ^= (byte) (1 + rnd.nextInt(255));
        tampered.set(
            i,
            e.toBuilder()
                .setMutation(e.getMutation().toBuilder().setMutation(ByteString.copyFrom(m)))
                .build());
      }
      case EDIT_EFFECT ->
          tampered.set(
              i,
              e.toBuilder()
                  .setEffect(
                      Effect.newBuilder()
                          .addAllItems(e.getEffect().getItemsList())
                          .addItems(EffectItem.newBuilder().setDetail("forged")))
                  .build());
      case EDIT_DELTA_HASH ->
          tampered.set(i, e.toBuilder().setDeltaHash(ByteString.copyFrom(new byte[32])).build());
      case EDIT_POLICY_VERSION ->
          tampered.set(i, e.toBuilder().setPolicyVersion(e.getPolicyVersion() + 1).build());
      case EDIT_AND_REHASH -> {
        // A careful forger recomputes the entry's own hash: the next link, the replay or the
        // head still give it away.
        LineageEntry edited =
            e.toBuilder()
                .setEffect(
                    Effect.newBuilder().addItems(EffectItem.newBuilder().setDetail("rewritten")))
                .build();
        tampered.set(
            i,
            edited.toBuilder().setHash(ByteString.copyFrom(Canonical.entryHash(edited))).build());
      }
      case DROP -> tampered.remove(i);
      case REORDER -> {
        int j = (i + 1 + rnd.nextInt(tampered.size() - 1)) % tampered.size();
        tampered.set(i, tampered.get(j));
        tampered.set(j, e);
      }
    }
    ChainVerifier.Report report =
        ChainVerifier.verify(tampered, new ChainVerifier.Options().replay(true).head(c.head));
    assertThat(report.ok()).as("%s of entry #%d went unnoticed", tamper, i).isFalse();
    Statistics.label("first problem").collect(report.problems().get(0).kind());
    // The untouched chain verifies.
    assertThat(
            ChainVerifier.verify(c.entries, new ChainVerifier.Options().replay(true).head(c.head))
                .ok())
        .isTrue();
  }

  record Chain(List<LineageEntry> entries, ChainVerifier.Head head) {}

  /** A root scope's lineage after a random run of binds, renames, unbinds and rotations. */
  static Chain chain(long seed, int length) {
    FabricModel m = new FabricModel(seed);
    Random rnd = m.random;
    List<Alias> bound = new ArrayList<>();
    int n = 0;
    while (m.fabric.state(m.root).headSeq() < length) {
      Alias a = Alias.parse("svc@x" + n++);
      int op = bound.isEmpty() ? 0 : rnd.nextInt(4);
      Outcome o =
          switch (op) {
            case 0 -> m.apply(m.factory.bind(m.root, a, record(rnd)));
            case 1 -> m.apply(m.factory.rename(m.root, bound.remove(rnd.nextInt(bound.size())), a));
            case 2 -> m.apply(m.factory.unbind(m.root, bound.remove(rnd.nextInt(bound.size()))));
            default -> m.apply(m.factory.rotateUid(m.root, bound.get(rnd.nextInt(bound.size()))));
          };
      assertThat(o).isInstanceOf(Outcome.Applied.class);
      if (op == 0 || op == 1) {
        bound.add(a);
      }
    }
    ScopeState s = m.fabric.state(m.root);
    return new Chain(
        m.fabric.lineage(m.root),
        new ChainVerifier.Head(s.headSeq(), ByteString.copyFrom(s.headHash())));
  }

  static ObjectRecord record(Random rnd) {
    return ObjectRecord.newBuilder()
        .addEndpoints(Endpoint.newBuilder().setHost("10.1.0." + rnd.nextInt(255)).setPort(443))
        .build();
  }
}
