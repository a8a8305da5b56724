package org.anf.anchor.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.anf.anchor.config.AnchorConfig;
import org.anf.lineage.error.AnfException;
import org.anf.lineage.error.ErrorCode;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A small certificate authority for anchor-to-anchor mutual TLS: a CA and one certificate per
 * anchor (ECDSA P-256, SANs for the anchor's id, {@code localhost} and its IP addresses), written
 * as PEM files. {@code anf dev} makes one under its data directory on first start; operators can
 * use it or bring their own.
 */
public final class Certificates {
  private static final Duration VALIDITY = Duration.ofDays(3650);
  private final SecureRandom random = new SecureRandom();
  private final KeyPair caKey;
  private final X509Certificate ca;

  private Certificates(KeyPair caKey, X509Certificate ca) {
    this.caKey = caKey;
    this.ca = ca;
  }

  public static Certificates newAuthority(String name) {
    try {
      KeyPair kp = ecKey();
      X500Name subject = new X500Name("CN=" + name);
      Instant now = Instant.now();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              subject,
              serial(new SecureRandom()),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(VALIDITY)),
              subject,
              kp.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
      b.addExtension(
          Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
      X509Certificate cert = sign(b, kp);
      return new Certificates(kp, cert);
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new AnfException(ErrorCode.INTERNAL, "cannot create a CA: " + e.getMessage(), e);
    }
  }

  /** Writes the CA certificate and one anchor's key and certificate; returns their paths. */
  public AnchorConfig.Tls issue(String anchorId, List<String> ipAddresses, Path dir) {
    try {
      Files.createDirectories(dir);
      KeyPair kp = ecKey();
      Instant now = Instant.now();
      X509v3CertificateBuilder b =
          new JcaX509v3CertificateBuilder(
              X500Name.getInstance(ca.getSubjectX500Principal().getEncoded()),
              serial(random),
              Date.from(now.minus(Duration.ofHours(1))),
              Date.from(now.plus(VALIDITY)),
              new X500Name("CN=" + anchorId),
              kp.getPublic());
      List<GeneralName> names = new ArrayList<>();
      names.add(new GeneralName(GeneralName.dNSName, anchorId));
      names.add(new GeneralName(GeneralName.dNSName, "localhost"));
      for (String ip : ipAddresses) {
        names.add(
            new GeneralName(GeneralName.iPAddress, InetAddress.getByName(ip).getHostAddress()));
      }
      b.addExtension(
          Extension.subjectAlternativeName,
          false,
          new GeneralNames(names.toArray(GeneralName[]::new)));
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(
          Extension.keyUsage,
          true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
      b.addExtension(
          Extension.extendedKeyUsage,
          false,
          new ExtendedKeyUsage(
              new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
      X509Certificate cert = sign(b, caKey);
      Path certFile = dir.resolve(anchorId + ".pem");
      Path keyFile = dir.resolve(anchorId + ".key.pem");
      Path caFile = dir.resolve("ca.pem");
      Files.writeString(certFile, pem(cert), StandardCharsets.UTF_8);
      Files.writeString(
          keyFile,
          pem(new JcaPKCS8Generator(kp.getPrivate(), null).generate()),
          StandardCharsets.UTF_8);
      restrict(keyFile);
      Files.writeString(caFile, pem(ca), StandardCharsets.UTF_8);
      return new AnchorConfig.Tls(certFile, keyFile, caFile);
    } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
      throw new AnfException(
          ErrorCode.INTERNAL,
          "cannot issue a certificate for " + anchorId + ": " + e.getMessage(),
          e);
    }
  }

  private static KeyPair ecKey() throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    return g.generateKeyPair();
  }

  private static BigInteger serial(SecureRandom r) {
    return new BigInteger(64, r).abs().add(BigInteger.ONE);
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer)
      throws OperatorCreationException, GeneralSecurityException {
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }

  private static String pem(Object o) throws IOException {
    StringWriter sw = new StringWriter();
    try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
      w.writeObject(o);
    }
    return sw.toString();
  }

  private static void restrict(Path file) {
    var f = file.toFile();
    f.setReadable(false, false);
    f.setReadable(true, true);
    f.setWritable(false, false);
    f.setWritable(true, true);
  }
}
