package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A client's signing key pair for {@code private_key_jwt}: generated as RS384 (RSA 3072) or ES384
 * (EC P-384), stored as one PEM file holding the PKCS#8 private key and the X.509 public key
 * (mode 0600), and read back as a JWK whose {@code kid} is its RFC 7638 thumbprint.
 */
final class ClientKeys {

  private static final Pattern PEM = Pattern.compile("-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  private ClientKeys() {}

  /** Generates a key pair for {@code alg} (RS384 or ES384). */
  static JWK generate(JWSAlgorithm alg) {
    try {
      if (JWSAlgorithm.RS384.equals(alg)) {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
        g.initialize(3072);
        KeyPair kp = g.generateKeyPair();
        return withThumbprint(new RSAKey.Builder((RSAPublicKey) kp.getPublic()).privateKey(kp.getPrivate()), alg);
      }
      if (JWSAlgorithm.ES384.equals(alg)) {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp384r1"));
        KeyPair kp = g.generateKeyPair();
        return withThumbprint(new ECKey.Builder(Curve.P_384, (ECPublicKey) kp.getPublic()).privateKey(kp.getPrivate()), alg);
      }
    } catch (GeneralSecurityException | JOSEException e) {
      throw new IllegalStateException("key generation failed", e);
    }
    throw new IllegalArgumentException("algorithm must be RS384 or ES384, not " + alg);
  }

  /** Writes the key pair to {@code file} as PEM, readable by its owner only. */
  static void write(JWK key, Path file) throws IOException {
    String pem;
    try {
      PrivateKey privateKey = key instanceof RSAKey rsa ? rsa.toPrivateKey() : key.toECKey().toPrivateKey();
      PublicKey publicKey = key instanceof RSAKey rsa ? rsa.toPublicKey() : key.toECKey().toPublicKey();
      pem = pem("PRIVATE KEY", privateKey.getEncoded()) + pem("PUBLIC KEY", publicKey.getEncoded());
    } catch (JOSEException e) {
      throw new IllegalStateException(e);
    }
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, ".key-", ".tmp");
    try {
      SigningKeys.restrictToOwner(tmp);
      Files.writeString(tmp, pem, StandardCharsets.US_ASCII);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** Reads a key pair written by {@link #write}. */
  static JWK read(Path file) throws IOException {
    String text = Files.readString(file, StandardCharsets.US_ASCII);
    byte[] privateDer = null;
    byte[] publicDer = null;
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      switch (m.group(1)) {
        case "PRIVATE KEY" -> privateDer = der;
        case "PUBLIC KEY" -> publicDer = der;
        default -> { }
      }
    }
    if (privateDer == null || publicDer == null) {
      throw new IOException(file + " must hold a PEM 'PRIVATE KEY' (PKCS#8) and a 'PUBLIC KEY' block");
    }
    try {
      for (String type : new String[] {"RSA", "EC"}) {
        KeyFactory kf = KeyFactory.getInstance(type);
        PublicKey pub;
        try {
          pub = kf.generatePublic(new X509EncodedKeySpec(publicDer));
        } catch (GeneralSecurityException notThisType) {
          continue;
        }
        PrivateKey priv = kf.generatePrivate(new PKCS8EncodedKeySpec(privateDer));
        if (pub instanceof RSAPublicKey rsa) {
          return withThumbprint(new RSAKey.Builder(rsa).privateKey(priv), JWSAlgorithm.RS384);
        }
        ECPublicKey ec = (ECPublicKey) pub;
        if (!Curve.forECParameterSpec(ec.getParams()).equals(Curve.P_384)) {
          throw new IOException(file + ": EC keys must be on P-384 (ES384)");
        }
        return withThumbprint(new ECKey.Builder(Curve.P_384, ec).privateKey(priv), JWSAlgorithm.ES384);
      }
    } catch (GeneralSecurityException | JOSEException e) {
      throw new IOException(file + " does not hold a usable key pair: " + e.getMessage(), e);
    }
    throw new IOException(file + " holds neither an RSA nor an EC key");
  }

  /** The signing algorithm of a key read by {@link #read} or made by {@link #generate}. */
  static JWSAlgorithm algorithm(JWK key) {
    return (JWSAlgorithm) key.getAlgorithm();
  }

  private static JWK withThumbprint(RSAKey.Builder b, JWSAlgorithm alg) throws JOSEException {
    RSAKey k = b.keyUse(KeyUse.SIGNATURE).algorithm(alg).build();
    return new RSAKey.Builder(k).keyID(k.computeThumbprint().toString()).build();
  }

  private static JWK withThumbprint(ECKey.Builder b, JWSAlgorithm alg) throws JOSEException {
    ECKey k = b.keyUse(KeyUse.SIGNATURE).algorithm(alg).build();
    return new ECKey.Builder(k).keyID(k.computeThumbprint().toString()).build();
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
