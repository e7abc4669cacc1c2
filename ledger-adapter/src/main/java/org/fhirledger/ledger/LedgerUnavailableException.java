package org.fhirledger.ledger;

/**
 * The ledger could not perform the operation now: the database failed, the writer was fenced by another
 * process, or the ledger is closed. An append that fails with this exception was not acknowledged; it may or may
 * not be in the log (if the database committed but the acknowledgement was lost), so callers must treat it as
 * "not recorded" and fail closed.
 */
public class LedgerUnavailableException extends LedgerException {
  private static final long serialVersionUID = 1L;

  public LedgerUnavailableException(String message) {
    super(message);
  }

  public LedgerUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
