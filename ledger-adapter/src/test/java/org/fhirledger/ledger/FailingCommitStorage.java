package org.fhirledger.ledger;

/**
 * Real storage whose next {@code commitBatch} can be made to fail: either before anything is written (the batch
 * never lands), or after the commit (it landed, but the writer is told it failed, as when a connection drops
 * during the commit's reply).
 */
final class FailingCommitStorage extends ForwardingLedgerStorage {
  enum Failure { NONE, BEFORE_COMMIT, AFTER_COMMIT }

  private volatile Failure next = Failure.NONE;

  FailingCommitStorage(LedgerStorage delegate) {
    super(delegate);
  }

  void failNextCommit(Failure failure) {
    next = failure;
  }

  @Override
  public void commitBatch(Batch batch) throws LedgerUnavailableException {
    Failure f = next;
    next = Failure.NONE;
    if (f == Failure.BEFORE_COMMIT) {
      throw new LedgerUnavailableException("injected failure: batch [" + batch.oldSize() + ", " + batch.newSize()
          + ") not committed");
    }
    super.commitBatch(batch);
    if (f == Failure.AFTER_COMMIT) {
      throw new LedgerUnavailableException("injected failure: batch [" + batch.oldSize() + ", " + batch.newSize()
          + ") committed, reported failed");
    }
  }
}
