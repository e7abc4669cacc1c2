package org.fhirledger.ledger.raft;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Mutual TLS between the members of a Raft group, with pinned certificates.
 *
 * <p>Each member has its own key and self-signed certificate ({@link #generate}); every member is given the
 * certificates of all members (its own included) and accepts a connection, in either direction, only from a peer
 * that presents exactly one of those certificates (compared byte for byte, and within its validity period). No
 * certificate authority and no host names are involved: the list of pinned certificates is the group's membership,
 * exchanged between the organizations together with the peer addresses. A member that is not in the list can
 * neither propose appends nor take part in elections, and the Raft traffic (the log's entries) is encrypted.
 */
public final class RaftTls {
  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private final PrivateKey key;
  private final X509Certificate certificate;
  private final List<X509Certificate> pinned;

  /**
   * @param key this member's private key
   * @param certificate this member's certificate (for {@code key})
   * @param pinned the certificates of every member of the group; must include {@code certificate}
   */
  public RaftTls(PrivateKey key, X509Certificate certificate, List<X509Certificate> pinned) {
    this.key = Objects.requireNonNull(key, "key");
    this.certificate = Objects.requireNonNull(certificate, "certificate");
    this.pinned = List.copyOf(pinned);
    if (!this.pinned.contains(certificate)) {
      throw new IllegalArgumentException("the pinned member certificates must include this member's own ("
          + fingerprint(certificate) + ")");
    }
  }

  /**
   * Reads a member's TLS settings from PEM files: {@code keyFile} (PKCS#8 {@code PRIVATE KEY}), {@code certFile}
   * ({@code CERTIFICATE}) and one {@code CERTIFICATE} file per member of the group.
   *
   * @throws IllegalArgumentException naming the file that is missing or not of the expected form
   */
  public static RaftTls load(Path keyFile, Path certFile, List<Path> memberCertFiles) {
    List<X509Certificate> pinned = new ArrayList<>();
    for (Path p : memberCertFiles) {
      pinned.add(readCertificate(p));
    }
    return new RaftTls(readKey(keyFile), readCertificate(certFile), pinned);
  }

  /**
   * Creates a member's EC P-256 key (mode 0600) and a self-signed certificate naming {@code memberId}, valid for
   * {@code validity}. Existing files are kept and checked to belong together.
   *
   * @return the certificate (new or existing): give a copy to every other member
   */
  public static X509Certificate generate(String memberId, Path keyFile, Path certFile, Duration validity,
      SecureRandom random) throws IOException {
    if (Files.exists(keyFile) || Files.exists(certFile)) {
      PrivateKey existing = readKey(keyFile);
      X509Certificate cert = readCertificate(certFile);
      try {
        java.security.Signature s = java.security.Signature.getInstance("SHA256withECDSA");
        s.initSign(existing);
        s.update(new byte[] {1});
        byte[] sig = s.sign();
        s.initVerify(cert.getPublicKey());
        s.update(new byte[] {1});
        if (!s.verify(sig)) {
          throw new IllegalArgumentException(keyFile + " and " + certFile + " are not a key and its certificate");
        }
      } catch (GeneralSecurityException e) {
        throw new IllegalArgumentException(keyFile + " and " + certFile + " are not a key and its certificate", e);
      }
      return cert;
    }
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), random);
      KeyPair pair = g.generateKeyPair();
      Instant now = Instant.now();
      X500Name name = new X500Name("CN=" + memberId + ",OU=fhir-ledger raft member");
      JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, new BigInteger(127, random),
          Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), name, pair.getPublic());
      b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
      b.addExtension(Extension.keyUsage, true,
          new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
      b.addExtension(Extension.subjectAlternativeName, false,
          new GeneralNames(new GeneralName(GeneralName.dNSName, memberId)));
      X509Certificate cert = new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(pair.getPrivate())));
      writePrivate(keyFile, pem("PRIVATE KEY", pair.getPrivate().getEncoded()));
      Files.writeString(certFile, pem("CERTIFICATE", cert.getEncoded()), StandardCharsets.US_ASCII);
      return cert;
    } catch (GeneralSecurityException | OperatorCreationException e) {
      throw new IOException("cannot create the member's TLS key: " + e.getMessage(), e);
    }
  }

  /** SHA-256 of the certificate's DER encoding, hex: how operators compare a pinned certificate. */
  public static String fingerprint(X509Certificate cert) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  public X509Certificate certificate() {
    return certificate;
  }

  public List<X509Certificate> pinned() {
    return pinned;
  }

  /** Ratis' TLS configuration for this member: our key, the pinning trust manager, client certificates required. */
  GrpcTlsConfig grpcConfig() {
    return new GrpcTlsConfig(keyManager(), new PinnedTrustManager(pinned), true);
  }

  private KeyManager keyManager() {
    try {
      char[] password = new char[0];
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("member", key, password, new java.security.cert.Certificate[] {certificate});
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, password);
      return kmf.getKeyManagers()[0];
    } catch (GeneralSecurityException | IOException e) {
      throw new IllegalStateException("cannot use the member's TLS key: " + e.getMessage(), e);
    }
  }

  /** Accepts exactly the pinned certificates, in either role; nothing else (no chains, no host names). */
  static final class PinnedTrustManager extends X509ExtendedTrustManager {
    private final List<X509Certificate> pinned;

    PinnedTrustManager(List<X509Certificate> pinned) {
      this.pinned = List.copyOf(pinned);
    }

    private void check(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("the peer presented no certificate");
      }
      X509Certificate peer = chain[0];
      if (!pinned.contains(peer)) {
        throw new CertificateException("the peer's certificate (SHA-256 " + fingerprint(peer)
            + ") is not one of the group's pinned member certificates");
      }
      peer.checkValidity();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      check(chain);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return pinned.toArray(new X509Certificate[0]);
    }
  }

  private static PrivateKey readKey(Path file) {
    byte[] der = pemBody(file, "PRIVATE KEY");
    for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
      try {
        return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
      } catch (GeneralSecurityException e) {
        // try the next algorithm
      }
    }
    throw new IllegalArgumentException(file + " is not a PKCS#8 EC, RSA or Ed25519 private key");
  }

  private static X509Certificate readCertificate(Path file) {
    byte[] der = pemBody(file, "CERTIFICATE");
    try {
      return (X509Certificate) CertificateFactory.getInstance("X.509")
          .generateCertificate(new ByteArrayInputStream(der));
    } catch (CertificateException e) {
      throw new IllegalArgumentException(file + " does not hold an X.509 certificate: " + e.getMessage(), e);
    }
  }

  private static byte[] pemBody(Path file, String type) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read " + file + ": " + e.getMessage(), e);
    }
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      if (m.group(1).equals(type)) {
        try {
          return Base64.getMimeDecoder().decode(m.group(2).replaceAll("\\s", ""));
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(file + ": the " + type + " block is not valid base64", e);
        }
      }
    }
    throw new IllegalArgumentException(file + " holds no PEM '" + type + "' block");
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static void writePrivate(Path file, String text) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try {
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      Files.createFile(file);
    }
    Files.writeString(file, text, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
  }
}
