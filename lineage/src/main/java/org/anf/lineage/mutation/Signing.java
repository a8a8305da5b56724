package org.anf.lineage.mutation;

import com.google.protobuf.ByteString;
import org.anf.lineage.crypto.Ed25519;
import org.anf.lineage.crypto.KeyPair;
import org.anf.lineage.kv.Bytes;
import org.anf.proto.v1.Mutation;
import org.anf.proto.v1.SignedMutation;

/**
 * Signing of mutations: Ed25519 over the ASCII tag "anf.v1.mutation\n" followed by the exact
 * serialized mutation bytes. The tag keeps a mutation signature from being valid for anything else
 * the same key signs.
 */
public final class Signing {
  private static final byte[] DOMAIN = Bytes.utf8("anf.v1.mutation\n");

  private Signing() {}

  public static SignedMutation sign(Mutation m, KeyPair key) {
    byte[] bytes = m.toByteArray();
    return SignedMutation.newBuilder()
        .setMutation(ByteString.copyFrom(bytes))
        .setPublicKey(ByteString.copyFrom(key.publicKey()))
        .setSignature(ByteString.copyFrom(Ed25519.sign(key, Bytes.concat(DOMAIN, bytes))))
        .build();
  }

  public static boolean verify(SignedMutation s) {
    return Ed25519.verify(
        s.getPublicKey().toByteArray(),
        Bytes.concat(DOMAIN, s.getMutation().toByteArray()),
        s.getSignature().toByteArray());
  }
}
