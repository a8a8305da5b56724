package org.anf.anchor.statemachine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.anf.lineage.mutation.Signing;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.SignedMutation;
import org.junit.jupiter.api.Test;

/** A batch's signatures checked on several threads: each verdict lands on its own mutation. */
class VerifyAllTest {
  private static final KeyPair KEY = Ed25519.fromSeed(new byte[32]);

  private static SignedMutation signed(int i) {
    Mutation m =
        Mutation.newBuilder()
            .setScopeId(7)
            .setMutationId(ByteString.copyFrom(new byte[] {(byte) i}))
            .build();
    return Signing.sign(m, KEY);
  }

  @Test
  void everyBadMutationOfABatchIsNamedAndNoGoodOneIs() {
    List<SignedMutation> batch = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      SignedMutation s = signed(i);
      if (i % 7 == 3) {
        byte[] sig = s.getSignature().toByteArray();
        sig[5] ^= 1;
        s = s.toBuilder().setSignature(ByteString.copyFrom(sig)).build();
      } else if (i % 11 == 5) {
        s = s.toBuilder().clearPublicKey().build();
      }
      batch.add(s);
    }
    AnfException[] out = ScopeStateMachine.verifyAll(batch);
    assertEquals(batch.size(), out.length);
    for (int i = 0; i < batch.size(); i++) {
      if (i % 7 == 3) {
        assertEquals(ErrorCode.BAD_SIGNATURE, out[i].code(), "mutation " + i);
      } else if (i % 11 == 5) {
        assertEquals(ErrorCode.MISSING_SIGNATURE, out[i].code(), "mutation " + i);
      } else {
        assertNull(out[i], "mutation " + i);
      }
    }
  }

  @Test
  void aSmallBatchIsCheckedToo() {
    SignedMutation good = signed(1);
    SignedMutation bad = good.toBuilder().setMutation(ByteString.copyFromUtf8("other")).build();
    AnfException[] out = ScopeStateMachine.verifyAll(List.of(good, bad));
    assertNull(out[0]);
    assertEquals(ErrorCode.BAD_SIGNATURE, out[1].code());
  }
}
