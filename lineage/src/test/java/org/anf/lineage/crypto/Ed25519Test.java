package org.anf.lineage.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigInteger;
import java.util.HexFormat;
import org.anf.lineage.error.AnfException;
import org.junit.jupiter.api.Test;

class Ed25519Test {
  static final HexFormat HEX = HexFormat.of();
  // RFC 8032 section 7.1, TEST 1 and TEST 2.
  static final byte[] SEED1 =
      HEX.parseHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  static final byte[] PK1 =
      HEX.parseHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  static final byte[] SIG1 =
      HEX.parseHex(
          "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  static final byte[] SEED2 =
      HEX.parseHex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  static final byte[] PK2 =
      HEX.parseHex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  static final byte[] SIG2 =
      HEX.parseHex(
          "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  static final BigInteger L =
      BigInteger.TWO.pow(252).add(new BigInteger("27742317777372353535851937790883648493"));

  @Test
  void rfc8032Vectors() {
    KeyPair k1 = Ed25519.fromSeed(SEED1);
    assertThat(k1.publicKey()).isEqualTo(PK1);
    assertThat(Ed25519.sign(k1, new byte[0])).isEqualTo(SIG1);
    assertThat(Ed25519.verify(PK1, new byte[0], SIG1)).isTrue();
    KeyPair k2 = Ed25519.fromSeed(SEED2);
    assertThat(k2.publicKey()).isEqualTo(PK2);
    assertThat(Ed25519.sign(k2, new byte[] {0x72})).isEqualTo(SIG2);
    assertThat(Ed25519.verify(PK2, new byte[] {0x72}, SIG2)).isTrue();
    assertThat(Ed25519.verify(PK2, new byte[] {0x73}, SIG2)).isFalse();
    assertThat(Ed25519.verify(PK1, new byte[] {0x72}, SIG2)).isFalse();
  }

  @Test
  void nonCanonicalSIsRefused() {
    // S + L verifies under a lax check (same scalar mod L); strict verification refuses it.
    byte[] sig = SIG1.clone();
    BigInteger s = littleEndian(sig, 32);
    byte[] sPlusL = toLittleEndian(s.add(L));
    System.arraycopy(sPlusL, 0, sig, 32, 32);
    assertThat(Ed25519.verify(PK1, new byte[0], sig)).isFalse();
  }

  @Test
  void smallOrderAndMalformedKeysAreRefused() {
    byte[] identity = new byte[32];
    identity[0] = 1; // the neutral element: order 1
    assertThat(Ed25519.isValidPublicKey(identity)).isFalse();
    byte[] allOnes = new byte[32];
    java.util.Arrays.fill(allOnes, (byte) 0xff); // y >= p: not canonical
    assertThat(Ed25519.isValidPublicKey(allOnes)).isFalse();
    assertThat(Ed25519.isValidPublicKey(new byte[31])).isFalse();
    assertThat(Ed25519.verify(identity, new byte[0], new byte[64])).isFalse();
    assertThat(Ed25519.verify(PK1, new byte[0], new byte[63])).isFalse();
    assertThat(Ed25519.isValidPublicKey(PK1)).isTrue();
  }

  @Test
  void keyTextAndKeyFilesRoundTrip() {
    KeyPair k = Ed25519.fromSeed(SEED1);
    assertThat(Ed25519.parsePublicKey(k.publicKeyText())).isEqualTo(PK1);
    assertThat(KeyText.parse(KeyText.format(k))).isEqualTo(k);
    assertThat(k.toString()).doesNotContain(HEX.formatHex(SEED1));
    assertThatThrownBy(() -> Ed25519.parsePublicKey("ed25519:AAAA"))
        .isInstanceOf(AnfException.class)
        .hasMessageContaining("not a valid Ed25519 key");
    String other = KeyText.format(Ed25519.fromSeed(SEED2));
    String mismatched = other.replaceFirst("public .*\n", "public " + k.publicKeyText() + "\n");
    assertThatThrownBy(() -> KeyText.parse(mismatched)).hasMessageContaining("does not match");
  }

  static BigInteger littleEndian(byte[] b, int off) {
    byte[] be = new byte[32];
    for (int i = 0; i < 32; i++) {
      be[i] = b[off + 31 - i];
    }
    return new BigInteger(1, be);
  }

  static byte[] toLittleEndian(BigInteger v) {
    byte[] be = v.toByteArray();
    byte[] le = new byte[32];
    for (int i = 0; i < Math.min(32, be.length); i++) {
      le[i] = be[be.length - 1 - i];
    }
    return le;
  }
}
