package org.fhirledger.ledger.witness;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * A witness's public key for C2SP {@code tlog-cosignature} v1 (Ed25519, timestamped): key ID =
 * {@code SHA-256(<name> || "\n" || 0x04 || public key)[:4]}; vkey {@code <name>+<hex id>+<base64(0x04 || key)>}.
 * A cosignature line is {@code — <name> base64(key ID || u64 big-endian timestamp || Ed25519 signature)} over
 * {@code "cosignature/v1\ntime <timestamp>\n" || checkpoint text}.
 *
 * <p>Immutable and thread-safe.
 */
public final class CosignatureVerifier {
  static final byte TYPE = 0x04;
  static final String EM_DASH = "\u2014";

  private final String name;
  private final byte[] publicKey;
  private final int keyId;

  CosignatureVerifier(String name, byte[] publicKey) {
    Objects.requireNonNull(name, "name");
    if (name.isEmpty() || name.chars().anyMatch(c -> c == '+' || Character.isWhitespace(c) || c < 0x20)) {
      throw new IllegalArgumentException("witness name must be non-empty, without spaces, control characters or '+'");
    }
    if (publicKey.length != 32) {
      throw new IllegalArgumentException("Ed25519 public key must be 32 bytes, was " + publicKey.length);
    }
    this.name = name;
    this.publicKey = publicKey.clone();
    this.keyId = keyId(name, publicKey);
  }

  /**
   * Parses {@code <name>+<hex id>+<base64(0x04 || key)>}.
   *
   * @throws IllegalArgumentException if malformed, not a cosignature/v1 key, or the key ID does not match
   */
  public static CosignatureVerifier parse(String vkey) {
    String[] parts = Objects.requireNonNull(vkey, "vkey").strip().split("\\+", 3);
    if (parts.length != 3) {
      throw new IllegalArgumentException("witness key must be <name>+<hex key id>+<base64 key>");
    }
    byte[] key;
    try {
      key = Base64.getDecoder().decode(parts[2]);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("witness key is not base64", e);
    }
    if (key.length != 33 || key[0] != TYPE) {
      throw new IllegalArgumentException("witness key: expected 0x04 (cosignature/v1) and a 32-byte Ed25519 key");
    }
    CosignatureVerifier v = new CosignatureVerifier(parts[0], Arrays.copyOfRange(key, 1, 33));
    if (!parts[1].equals(String.format("%08x", v.keyId))) {
      throw new IllegalArgumentException("witness key: key ID " + parts[1] + " does not match the key");
    }
    return v;
  }

  public String name() {
    return name;
  }

  public int keyId() {
    return keyId;
  }

  public String vkey() {
    byte[] typed = new byte[33];
    typed[0] = TYPE;
    System.arraycopy(publicKey, 0, typed, 1, 32);
    return name + "+" + String.format("%08x", keyId) + "+" + Base64.getEncoder().encodeToString(typed);
  }

  /**
   * Verifies this witness's cosignature on {@code signedNote} (a checkpoint with any signature lines) and returns
   * its timestamp (POSIX seconds).
   *
   * @throws LedgerVerificationException if the note carries no cosignature by this witness or it does not verify
   */
  public long verify(String signedNote) throws LedgerVerificationException {
    Optional<Long> t = find(signedNote);
    if (t.isEmpty()) {
      throw new LedgerVerificationException("checkpoint carries no cosignature by witness " + name + "+"
          + String.format("%08x", keyId));
    }
    return t.get();
  }

  /**
   * The timestamp of this witness's cosignature on {@code signedNote}, or empty if there is none.
   *
   * @throws LedgerVerificationException if a line with this witness's name and key ID does not verify
   */
  public Optional<Long> find(String signedNote) throws LedgerVerificationException {
    int split = signedNote.lastIndexOf("\n\n");
    if (split < 0) {
      throw new LedgerVerificationException("signed note has no blank line before its signatures");
    }
    String text = signedNote.substring(0, split + 1);
    for (String line : signedNote.substring(split + 2).split("\n")) {
      if (!line.startsWith(EM_DASH + " " + name + " ")) {
        continue;
      }
      byte[] raw;
      try {
        raw = Base64.getDecoder().decode(line.substring(EM_DASH.length() + name.length() + 2));
      } catch (IllegalArgumentException e) {
        throw new LedgerVerificationException("cosignature by " + name + " is not base64");
      }
      if (raw.length < 4 || readInt(raw, 0) != keyId) {
        continue;
      }
      if (raw.length != 4 + 8 + 64) {
        throw new LedgerVerificationException("cosignature by " + name + " has " + raw.length
            + " bytes, expected 76 (key ID, timestamp, Ed25519 signature)");
      }
      long time = ((long) readInt(raw, 4) << 32) | (readInt(raw, 8) & 0xFFFFFFFFL);
      if (time < 0) {
        throw new LedgerVerificationException("cosignature by " + name + " has a timestamp beyond 2^63-1");
      }
      byte[] msg = message(text, time);
      Ed25519Signer s = new Ed25519Signer();
      s.init(false, new Ed25519PublicKeyParameters(publicKey, 0));
      s.update(msg, 0, msg.length);
      if (!s.verifySignature(Arrays.copyOfRange(raw, 12, 76))) {
        throw new LedgerVerificationException("cosignature by witness " + name + " does not verify over this "
            + "checkpoint");
      }
      return Optional.of(time);
    }
    return Optional.empty();
  }

  /** The signed message of cosignature/v1: header, time line, then the checkpoint text. */
  static byte[] message(String checkpointText, long time) {
    return ("cosignature/v1\ntime " + time + "\n" + checkpointText).getBytes(StandardCharsets.UTF_8);
  }

  static int keyId(String name, byte[] publicKey) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      md.update(name.getBytes(StandardCharsets.UTF_8));
      md.update((byte) '\n');
      md.update(TYPE);
      md.update(publicKey);
      return readInt(md.digest(), 0);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static int readInt(byte[] b, int off) {
    return ((b[off] & 0xFF) << 24) | ((b[off + 1] & 0xFF) << 16) | ((b[off + 2] & 0xFF) << 8) | (b[off + 3] & 0xFF);
  }

  @Override
  public String toString() {
    return vkey();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CosignatureVerifier v && v.name.equals(name) && Arrays.equals(v.publicKey, publicKey);
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.hashCode(publicKey);
  }
}
