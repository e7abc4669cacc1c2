package org.fhirledger.ledger.note;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Objects;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * An Ed25519 note verifier key, C2SP signed-note: parsed from and printed as the verifier key string
 * {@code <name>+<hex key ID>+<base64(0x01 || 32-byte public key)>}, where key ID = first 4 bytes (big-endian) of
 * SHA-256(name || 0x0A || 0x01 || public key).
 *
 * <p>Immutable and thread-safe.
 */
public final class NoteVerifier {
  static final byte ED25519 = 0x01;

  private final String name;
  private final int keyId;
  private final byte[] publicKey;

  NoteVerifier(String name, byte[] publicKey) {
    checkKeyName(name);
    if (publicKey.length != 32) {
      throw new IllegalArgumentException("Ed25519 public key must be 32 bytes, was " + publicKey.length);
    }
    this.name = name;
    this.publicKey = publicKey.clone();
    this.keyId = keyId(name, publicKey);
  }

  /**
   * Parses a verifier key string.
   *
   * @throws IllegalArgumentException if it is malformed, not Ed25519, or its key ID does not match its key
   */
  public static NoteVerifier parse(String vkey) {
    Objects.requireNonNull(vkey, "vkey");
    String[] parts = vkey.strip().split("\\+", 3);
    if (parts.length != 3) {
      throw new IllegalArgumentException("verifier key must be <name>+<hex key id>+<base64 key>");
    }
    byte[] key;
    try {
      key = Base64.getDecoder().decode(parts[2]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("verifier key: key is not base64", e);
    }
    if (key.length != 33 || key[0] != ED25519) {
      throw new IllegalArgumentException("verifier key: expected 0x01 followed by a 32-byte Ed25519 key");
    }
    NoteVerifier v = new NoteVerifier(parts[0], Arrays.copyOfRange(key, 1, 33));
    if (!parts[1].equals(String.format("%08x", v.keyId))) {
      throw new IllegalArgumentException("verifier key: key ID " + parts[1] + " does not match the key (expected "
          + String.format("%08x", v.keyId) + ")");
    }
    return v;
  }

  /** The key name, which for a log's key is its origin. */
  public String name() {
    return name;
  }

  /** The 32-bit key ID. */
  public int keyId() {
    return keyId;
  }

  /** The raw 32-byte public key, copied. */
  public byte[] publicKey() {
    return publicKey.clone();
  }

  /** The verifier key string, {@code name+hexid+base64(0x01||key)}. */
  public String vkey() {
    byte[] typed = new byte[33];
    typed[0] = ED25519;
    System.arraycopy(publicKey, 0, typed, 1, 32);
    return name + "+" + String.format("%08x", keyId) + "+" + Base64.getEncoder().encodeToString(typed);
  }

  /** Checks an Ed25519 signature over {@code message}. */
  void verifySignature(byte[] message, byte[] signature, String what) throws LedgerVerificationException {
    if (signature.length != 64) {
      throw new LedgerVerificationException(what + ": Ed25519 signature by " + name + " has " + signature.length
          + " bytes, expected 64");
    }
    Ed25519Signer s = new Ed25519Signer();
    s.init(false, new Ed25519PublicKeyParameters(publicKey, 0));
    s.update(message, 0, message.length);
    if (!s.verifySignature(signature)) {
      throw new LedgerVerificationException(what + ": Ed25519 signature by key " + name + "+"
          + String.format("%08x", keyId) + " does not verify");
    }
  }

  static int keyId(String name, byte[] publicKey) {
    try {
      var md = java.security.MessageDigest.getInstance("SHA-256");
      md.update(name.getBytes(StandardCharsets.UTF_8));
      md.update((byte) 0x0A);
      md.update(ED25519);
      md.update(publicKey);
      byte[] h = md.digest();
      return ((h[0] & 0xFF) << 24) | ((h[1] & 0xFF) << 16) | ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static void checkKeyName(String name) {
    if (name == null || name.isEmpty()) {
      throw new IllegalArgumentException("key name must be non-empty");
    }
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '+' || Character.isWhitespace(c) || Character.isSpaceChar(c) || c < 0x20) {
        throw new IllegalArgumentException("key name must not contain spaces, control characters or '+': " + name);
      }
    }
  }

  @Override
  public String toString() {
    return vkey();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof NoteVerifier v && v.name.equals(name) && Arrays.equals(v.publicKey, publicKey);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(publicKey);
  }

  static String hexId(int keyId) {
    return HexFormat.of().toHexDigits(keyId);
  }
}
