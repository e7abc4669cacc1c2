package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.text.ParseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The authorization server's token signing key, kept in a file so that tokens stay valid across
 * restarts: an RSA 3072 key (access tokens are signed RS384, OpenID id_tokens RS256, which SMART
 * requires of id_tokens), created on first start with mode 0600 and read back afterwards.
 */
final class SigningKeys {

  private static final Logger log = LoggerFactory.getLogger(SigningKeys.class);

  private SigningKeys() {}

  /** Loads the key set in {@code file}, or creates it (and its directory) if the file does not exist. */
  static JWKSet loadOrCreate(Path file) throws IOException {
    if (Files.exists(file)) {
      try {
        JWKSet set = JWKSet.parse(Files.readString(file, StandardCharsets.UTF_8));
        if (set.getKeys().isEmpty() || !set.getKeys().get(0).isPrivate()) {
          throw new IOException("Signing key file " + file + " holds no private key");
        }
        return set;
      } catch (ParseException e) {
        throw new IOException("Signing key file " + file + " is not a JWK Set: " + e.getMessage(), e);
      }
    }
    RSAKey key;
    try {
      key = new RSAKeyGenerator(3072).keyUse(KeyUse.SIGNATURE).keyIDFromThumbprint(true).generate();
    } catch (JOSEException e) {
      throw new IllegalStateException("RSA key generation failed", e);
    }
    JWKSet set = new JWKSet(key);
    Files.createDirectories(file.toAbsolutePath().getParent());
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".signing-key-", ".tmp");
    try {
      restrictToOwner(tmp);
      Files.writeString(tmp, set.toString(false), StandardCharsets.UTF_8);
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } finally {
      Files.deleteIfExists(tmp);
    }
    log.info("Created the authorization server's signing key {} (kid {})", file, key.getKeyID());
    return set;
  }

  static void restrictToOwner(Path file) throws IOException {
    try {
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
    } catch (UnsupportedOperationException e) {
      // Not a POSIX file system (Windows): the file inherits the directory's ACL.
    }
  }
}
