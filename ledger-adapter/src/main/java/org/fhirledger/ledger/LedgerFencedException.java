package org.fhirledger.ledger;

/**
 * This process is no longer the log's writer: another writer took over the log (its epoch is newer), so this
 * instance refuses to append. Nothing this instance did after being fenced reached the log.
 */
public final class LedgerFencedException extends LedgerUnavailableException {
  private static final long serialVersionUID = 1L;

  public LedgerFencedException(String message) {
    super(message);
  }
}
