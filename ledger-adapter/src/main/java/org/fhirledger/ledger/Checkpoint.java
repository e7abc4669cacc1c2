package org.fhirledger.ledger;

import java.util.Arrays;
import java.util.Objects;

/**
 * A signed tree head: the C2SP tlog-checkpoint note text (origin, tree size, base64 root hash) and the complete
 * signed note as served at {@code <prefix>/checkpoint}. Holding a Checkpoint does not mean it was verified: use the
 * verifier with the log's verifier key.
 *
 * <p>Immutable; the root hash is copied in and out.
 *
 * @param origin the log origin, non-empty
 * @param size the tree size, >= 0
 * @param rootHash the 32-byte RFC 6962 root hash
 * @param signedNote the signed note text, exactly as signed and stored
 */
public record Checkpoint(String origin, long size, byte[] rootHash, String signedNote) {
  public Checkpoint {
    Objects.requireNonNull(origin, "origin");
    Objects.requireNonNull(rootHash, "rootHash");
    Objects.requireNonNull(signedNote, "signedNote");
    if (origin.isEmpty()) {
      throw new IllegalArgumentException("origin must not be empty");
    }
    if (size < 0) {
      throw new IllegalArgumentException("size must be >= 0, was " + size);
    }
    if (rootHash.length != 32) {
      throw new IllegalArgumentException("root hash must be 32 bytes, was " + rootHash.length);
    }
    rootHash = rootHash.clone();
  }

  @Override
  public byte[] rootHash() {
    return rootHash.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Checkpoint c && c.origin.equals(origin) && c.size == size
        && Arrays.equals(c.rootHash, rootHash) && c.signedNote.equals(signedNote);
  }

  @Override
  public int hashCode() {
    return Objects.hash(origin, size, Arrays.hashCode(rootHash), signedNote);
  }

  @Override
  public String toString() {
    return "Checkpoint[" + origin + ", size " + size + ", root " + java.util.HexFormat.of().formatHex(rootHash) + "]";
  }
}
