package org.fhirledger.ledger;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;

/**
 * Opens ledgers. Opening takes the log over as its single writer (see {@link LedgerStorage}): another process that
 * was writing to the same database is fenced from its next batch on.
 *
 * <p>Thread-safe.
 */
public final class Ledgers {
  /** File name of the signing key in the data directory; its verifier key is beside it, suffixed {@code .vkey}. */
  public static final String KEY_FILE = "ledger-signer.key";

  private Ledgers() {}

  /**
   * Opens the ledger on {@code storage}, signing with {@code signer} (whose name is the log origin). The storage is
   * owned by the ledger from then on and closed with it.
   *
   * @throws LedgerVerificationException if the stored log does not match its latest signed checkpoint (the log then
   *     refuses to sign anything)
   * @throws LedgerUnavailableException if storage fails
   */
  public static Ledger open(LedgerStorage storage, NoteSigner signer, LedgerOptions options)
      throws LedgerUnavailableException, LedgerVerificationException {
    try {
      return SequencingLedger.open(storage, signer, options);
    } catch (LedgerUnavailableException | LedgerVerificationException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  /**
   * Opens one member's replica of a log whose batches a consensus engine orders (see {@link LedgerReplica}), on
   * {@code storage}, signing with {@code signer}. The storage is owned by the replica from then on.
   *
   * @throws LedgerVerificationException if the stored log does not match its latest signed checkpoint
   * @throws LedgerUnavailableException if storage fails
   */
  public static LedgerReplica openReplica(LedgerStorage storage, NoteSigner signer, LedgerOptions options)
      throws LedgerUnavailableException, LedgerVerificationException {
    try {
      return SequencingLedger.openReplica(storage, signer, options);
    } catch (LedgerUnavailableException | LedgerVerificationException | RuntimeException e) {
      storage.close();
      throw e;
    }
  }

  /**
   * Opens the default ledger: an H2 file database in {@code dataDir}, signed by the key in
   * {@code dataDir/ledger-signer.key}, generated on first start (mode 0600) for {@code origin}.
   */
  public static Ledger openH2(Path dataDir, String origin, LedgerOptions options)
      throws LedgerUnavailableException, LedgerVerificationException {
    NoteSigner signer;
    try {
      signer = NoteSigner.loadOrGenerate(dataDir.resolve(KEY_FILE), origin, new SecureRandom());
    } catch (IOException e) {
      throw new LedgerUnavailableException("cannot read or create the signing key in " + dataDir + ": "
          + e.getMessage(), e);
    }
    return open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dataDir), options.clock()), signer, options);
  }
}
