package org.fhirledger.ledger.verify;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;

/**
 * Reads a log straight from its database (no caches), for auditing it in place. Thread-safe.
 */
public final class JdbcLogSource implements LogSource {
  private final JdbcLedgerStorage storage;

  public JdbcLogSource(JdbcLedgerStorage storage) {
    this.storage = Objects.requireNonNull(storage, "storage");
  }

  @Override
  public String checkpoint() throws LedgerUnavailableException {
    return storage.latestCheckpoint()
        .orElseThrow(() -> new LedgerUnavailableException("the database holds no checkpoint"));
  }

  /** Stored checkpoint sizes in {@code [from, to]}, ascending, at most {@code limit}. */
  public List<Long> checkpointSizes(long from, long to, int limit) throws LedgerUnavailableException {
    return storage.checkpointSizes(from, to, limit);
  }

  /** The stored checkpoint note for {@code size}. */
  public Optional<String> checkpoint(long size) throws LedgerUnavailableException {
    return storage.checkpoint(size);
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    return storage.readTile(level, index, width);
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return storage.entryBundle(index, width);
  }
}
