package org.fhirledger.ledger.verify;

import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.tiles.TileReader;

/**
 * Where a verifier reads a log from: its latest signed checkpoint, tiles and entry bundles. Nothing read is trusted;
 * only the verifier key is.
 *
 * <p>Implementations are thread-safe.
 */
public interface LogSource extends TileReader {
  /** The latest signed checkpoint note, as served at {@code <prefix>/checkpoint}. */
  String checkpoint() throws LedgerUnavailableException;
}
