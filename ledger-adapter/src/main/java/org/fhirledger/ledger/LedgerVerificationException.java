package org.fhirledger.ledger;

/**
 * A proof, signature, tile, entry or checkpoint does not verify. The message says exactly what: which index,
 * which tile, the expected and the actual hash.
 */
public class LedgerVerificationException extends LedgerException {
  private static final long serialVersionUID = 1L;

  public LedgerVerificationException(String message) {
    super(message);
  }

  public LedgerVerificationException(String message, Throwable cause) {
    super(message, cause);
  }
}
