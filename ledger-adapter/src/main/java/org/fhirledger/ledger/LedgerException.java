package org.fhirledger.ledger;

/**
 * Base of the ledger's checked failures. Messages name what failed; they never contain entry payloads.
 */
public abstract class LedgerException extends Exception {
  private static final long serialVersionUID = 1L;

  protected LedgerException(String message) {
    super(message);
  }

  protected LedgerException(String message, Throwable cause) {
    super(message, cause);
  }
}
