package org.fhirledger.ledger.witness;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * A witness's Ed25519 signing key for C2SP {@code tlog-cosignature} v1. Text form
 * {@code PRIVATE+KEY+<name>+<hex id>+<base64(0x04 || 32-byte seed)>}. Use one key per witness: the v1 message does
 * not commit to the witness name.
 *
 * <p>Thread-safe. {@link #toString()} never reveals the key.
 */
public final class Cosigner {
  private static final String PREFIX = "PRIVATE+KEY+";

  private final Ed25519PrivateKeyParameters key;
  private final CosignatureVerifier verifier;

  private Cosigner(String name, byte[] seed) {
    this.key = new Ed25519PrivateKeyParameters(seed, 0);
    this.verifier = new CosignatureVerifier(name, key.generatePublicKey().getEncoded());
  }

  public static Cosigner generate(String name, SecureRandom random) {
    byte[] seed = new byte[32];
    random.nextBytes(seed);
    return new Cosigner(name, seed);
  }

  /** Parses a {@code PRIVATE+KEY+...} cosigner key; throws {@link IllegalArgumentException} if malformed. */
  public static Cosigner parse(String skey) {
    String s = Objects.requireNonNull(skey, "skey").strip();
    if (!s.startsWith(PREFIX)) {
      throw new IllegalArgumentException("witness key must start with PRIVATE+KEY+");
    }
    String[] parts = s.substring(PREFIX.length()).split("\\+", 3);
    if (parts.length != 3) {
      throw new IllegalArgumentException("witness key must be PRIVATE+KEY+<name>+<hex id>+<base64 key>");
    }
    byte[] raw = Base64.getDecoder().decode(parts[2]);
    if (raw.length != 33 || raw[0] != CosignatureVerifier.TYPE) {
      throw new IllegalArgumentException("witness key: expected 0x04 followed by a 32-byte Ed25519 seed");
    }
    Cosigner c = new Cosigner(parts[0], Arrays.copyOfRange(raw, 1, 33));
    if (!parts[1].equals(String.format("%08x", c.verifier.keyId()))) {
      throw new IllegalArgumentException("witness key: key ID " + parts[1] + " does not match the key");
    }
    return c;
  }

  /**
   * Loads the key from {@code file}, or creates one for {@code name} there (mode 0600) with its vkey beside it
   * ({@code .vkey}).
   */
  public static Cosigner loadOrGenerate(Path file, String name, SecureRandom random) throws IOException {
    if (Files.exists(file)) {
      Cosigner c = parse(Files.readString(file, StandardCharsets.UTF_8));
      if (!c.verifier.name().equals(name)) {
        throw new IllegalArgumentException("witness key in " + file + " is for " + c.verifier.name() + ", not "
            + name);
      }
      return c;
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    Cosigner c = generate(name, random);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, c.skey() + "\n", StandardCharsets.UTF_8);
    Files.writeString(file.resolveSibling(file.getFileName() + ".vkey"), c.verifier.vkey() + "\n",
        StandardCharsets.UTF_8);
    return c;
  }

  public CosignatureVerifier verifier() {
    return verifier;
  }

  /** The private key string; handle as a secret. */
  public String skey() {
    byte[] typed = new byte[33];
    typed[0] = CosignatureVerifier.TYPE;
    System.arraycopy(key.getEncoded(), 0, typed, 1, 32);
    return PREFIX + verifier.name() + "+" + String.format("%08x", verifier.keyId()) + "+"
        + Base64.getEncoder().encodeToString(typed);
  }

  /**
   * The cosignature line (ending in a newline) over {@code checkpointText} (the note body, ending in a newline, no
   * signature lines) at {@code time} (POSIX seconds).
   */
  public String cosign(String checkpointText, long time) {
    if (time < 0) {
      throw new IllegalArgumentException("time must be >= 0");
    }
    if (!checkpointText.endsWith("\n")) {
      throw new IllegalArgumentException("checkpoint text must end with a newline");
    }
    byte[] msg = CosignatureVerifier.message(checkpointText, time);
    Ed25519Signer s = new Ed25519Signer();
    s.init(true, key);
    s.update(msg, 0, msg.length);
    byte[] sig = s.generateSignature();
    byte[] raw = new byte[4 + 8 + 64];
    int id = verifier.keyId();
    for (int i = 0; i < 4; i++) {
      raw[i] = (byte) (id >>> (24 - 8 * i));
    }
    for (int i = 0; i < 8; i++) {
      raw[4 + i] = (byte) (time >>> (56 - 8 * i));
    }
    System.arraycopy(sig, 0, raw, 12, 64);
    return CosignatureVerifier.EM_DASH + " " + verifier.name() + " " + Base64.getEncoder().encodeToString(raw) + "\n";
  }

  @Override
  public String toString() {
    return "Cosigner[" + verifier.vkey() + "]";
  }
}
