package org.fhirledger.ledger.merkle;

import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * Supplies the hash of a perfect subtree: {@code MTH(D[index * 2^level : (index + 1) * 2^level])}. Implementations
 * read tiles (from a database or over HTTP) or memory. Not required to be thread-safe.
 */
@FunctionalInterface
public interface HashSource {
  /**
   * @return a 32-byte hash, never null
   * @throws LedgerUnavailableException if the hash cannot be read
   * @throws LedgerVerificationException if the data read is malformed (for example a tile of the wrong size)
   */
  byte[] perfect(int level, long index) throws LedgerUnavailableException, LedgerVerificationException;
}
