package org.fhirledger.ledger;

import java.util.List;

/**
 * An RFC 6962 consistency proof that the tree of {@code size2} extends the tree of {@code size1}.
 *
 * <p>Immutable: the hashes are copied in and out.
 *
 * @param size1 the older size, {@code 0 <= size1 <= size2}
 * @param size2 the newer size
 * @param hashes the proof, 32 bytes each (empty if the sizes are equal or size1 is 0)
 */
public record ConsistencyProof(long size1, long size2, List<byte[]> hashes) {
  public ConsistencyProof {
    if (size1 < 0 || size1 > size2) {
      throw new IllegalArgumentException("need 0 <= size1 <= size2, got " + size1 + ", " + size2);
    }
    hashes = Hashes.copy(hashes);
  }

  @Override
  public List<byte[]> hashes() {
    return Hashes.copy(hashes);
  }
}
