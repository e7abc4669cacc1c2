package org.fhirledger.ledger.entry;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A 256-bit HMAC-SHA256 key for tags the gateway hands to clients and later checks (paging links that must not be
 * forged or replayed by another caller). Parts are tagged with a length prefix each, so no two lists of parts give the
 * same input. Immutable and thread-safe; the key bytes never leave this object.
 */
public final class LinkKey {
  private static final int KEY_BYTES = 32;
  private final byte[] key;

  private LinkKey(byte[] key) {
    if (key.length != KEY_BYTES) {
      throw new IllegalArgumentException("a link key is " + KEY_BYTES + " bytes, not " + key.length);
    }
    this.key = key.clone();
  }

  /** A key from its bytes (copied); for tests and keys derived elsewhere. */
  public static LinkKey of(byte[] key) {
    return new LinkKey(Objects.requireNonNull(key, "key"));
  }

  /**
   * Loads the key stored in {@code file} (hex), or generates one and stores it readable only by its owner.
   *
   * @throws IOException if the file cannot be read or written, or holds no valid key
   */
  public static LinkKey loadOrGenerate(Path file, SecureRandom random) throws IOException {
    if (Files.exists(file)) {
      String hex = Files.readString(file, StandardCharsets.UTF_8).trim();
      if (!hex.matches("[0-9a-f]{" + (2 * KEY_BYTES) + "}")) {
        throw new IOException(file + " does not hold a " + KEY_BYTES + "-byte hex key");
      }
      return new LinkKey(java.util.HexFormat.of().parseHex(hex));
    }
    Files.createDirectories(file.toAbsolutePath().getParent());
    byte[] bytes = new byte[KEY_BYTES];
    random.nextBytes(bytes);
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    try {
      Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    } catch (UnsupportedOperationException e) {
      throw new IOException("cannot create " + tmp + " readable only by its owner on this file system", e);
    }
    Files.writeString(tmp, java.util.HexFormat.of().formatHex(bytes) + "\n", StandardCharsets.UTF_8);
    try {
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    } catch (FileAlreadyExistsException e) {
      Files.deleteIfExists(tmp);
      return loadOrGenerate(file, random); // another process won the race: use its key
    }
    return new LinkKey(bytes);
  }

  /** HMAC-SHA256 over the length-prefixed parts (32 bytes). */
  public byte[] tag(byte[]... parts) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      for (byte[] part : parts) {
        mac.update(ByteBuffer.allocate(4).putInt(part.length).array());
        mac.update(part);
      }
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /**
   * Checks a tag in constant time; returns nothing and throws on mismatch, so a caller cannot forget to look.
   *
   * @throws InvalidTagException when {@code tag} is not this key's tag of the parts
   */
  public void verify(byte[] tag, byte[]... parts) throws InvalidTagException {
    if (tag == null || !MessageDigest.isEqual(tag, tag(parts))) {
      throw new InvalidTagException();
    }
  }

  /** A tag that this key did not make for these parts (forged, altered, or made for another caller). */
  public static final class InvalidTagException extends Exception {
    public InvalidTagException() {
      super("the tag does not match");
    }
  }

  @Override
  public String toString() {
    return "LinkKey[redacted]";
  }
}
