package org.fhirledger.ledger.tiles;

import org.fhirledger.ledger.LedgerUnavailableException;

/**
 * Reads raw tiles and entry bundles of one log, as served by C2SP tlog-tiles. Implementations: the JDBC storage,
 * the HTTP client of the verifier. A reader returns bytes as stored; callers verify them.
 *
 * <p>Implementations are thread-safe.
 */
public interface TileReader {
  /**
   * The hash tile {@code (level, index)} of exactly {@code width} hashes ({@code 32 * width} bytes if well-formed).
   * Since a partial tile is a prefix of every wider version of it, an implementation may answer from a wider one.
   *
   * @throws LedgerUnavailableException if the tile is missing or cannot be read
   */
  byte[] tile(int level, long index, int width) throws LedgerUnavailableException;

  /**
   * The entry bundle {@code index} of exactly {@code width} entries, encoded as in C2SP tlog-tiles.
   *
   * @throws LedgerUnavailableException if the bundle is missing or cannot be read
   */
  byte[] entryBundle(long index, int width) throws LedgerUnavailableException;
}
