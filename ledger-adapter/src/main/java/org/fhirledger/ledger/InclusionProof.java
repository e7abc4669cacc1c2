package org.fhirledger.ledger;

import java.util.List;
import java.util.Objects;

/**
 * An RFC 6962 inclusion proof (audit path) for the entry at {@code index} in the tree of {@code treeSize}.
 *
 * <p>Immutable: the hashes are copied in and out.
 *
 * @param index the entry index, {@code 0 <= index < treeSize}
 * @param treeSize the tree size the proof is for
 * @param hashes the audit path, bottom to top, 32 bytes each
 */
public record InclusionProof(long index, long treeSize, List<byte[]> hashes) {
  public InclusionProof {
    if (index < 0 || index >= treeSize) {
      throw new IllegalArgumentException("need 0 <= index < treeSize, got " + index + ", " + treeSize);
    }
    hashes = Hashes.copy(hashes);
  }

  @Override
  public List<byte[]> hashes() {
    return Hashes.copy(hashes);
  }
}
