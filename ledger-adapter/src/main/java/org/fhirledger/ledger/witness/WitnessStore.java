package org.fhirledger.ledger.witness;

import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.LedgerUnavailableException;

/**
 * Where a witness keeps, per log origin, the latest checkpoint it cosigned, and the evidence of misbehaviour it
 * saw. Thread-safe; {@link #compareAndSet} is atomic (also between processes sharing the store).
 */
public interface WitnessStore {

  /** The latest cosigned tree head of a log. */
  record Cosigned(long size, byte[] rootHash) {
    public Cosigned {
      Objects.requireNonNull(rootHash, "rootHash");
      rootHash = rootHash.clone();
    }

    @Override
    public byte[] rootHash() {
      return rootHash.clone();
    }
  }

  /** A refused checkpoint and why. */
  record Evidence(String origin, Instant receivedAt, String reason, String checkpoint) {}

  Optional<Cosigned> latest(String origin) throws LedgerUnavailableException;

  /**
   * Moves the origin's latest cosigned checkpoint from {@code oldSize} (0 and no row when never cosigned) to
   * {@code next}; durable when it returns.
   *
   * @return false, changing nothing, if the stored size is not {@code oldSize}
   */
  boolean compareAndSet(String origin, long oldSize, Cosigned next, Instant now) throws LedgerUnavailableException;

  void recordEvidence(Evidence evidence) throws LedgerUnavailableException;

  /** The evidence recorded for {@code origin}, oldest first, at most {@code limit}. */
  List<Evidence> evidence(String origin, int limit) throws LedgerUnavailableException;
}
