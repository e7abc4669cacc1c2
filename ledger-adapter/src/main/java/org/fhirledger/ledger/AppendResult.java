package org.fhirledger.ledger;

import java.util.Objects;

/**
 * The receipt of a durable append: the entry's index and the signed checkpoint of the batch that committed it
 * (so {@code index < checkpoint.size()}). Returned only after the batch's database transaction committed.
 *
 * <p>Immutable.
 *
 * @param index the entry's 0-based index in the log
 * @param checkpoint the first checkpoint that includes the entry, non-null
 */
public record AppendResult(long index, Checkpoint checkpoint) {
  public AppendResult {
    Objects.requireNonNull(checkpoint, "checkpoint");
    if (index < 0 || index >= checkpoint.size()) {
      throw new IllegalArgumentException("index " + index + " is not in checkpoint of size " + checkpoint.size());
    }
  }
}
