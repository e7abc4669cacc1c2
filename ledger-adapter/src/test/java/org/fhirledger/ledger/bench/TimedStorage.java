package org.fhirledger.ledger.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.atomic.AtomicLong;
import org.fhirledger.ledger.ForwardingLedgerStorage;
import org.fhirledger.ledger.LedgerStorage;
import org.fhirledger.ledger.LedgerUnavailableException;

/** Storage that adds up the CPU time its callers' threads spend in {@code commitBatch}. */
final class TimedStorage extends ForwardingLedgerStorage {
  private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
  private final AtomicLong commitCpuNanos = new AtomicLong();

  TimedStorage(LedgerStorage delegate) {
    super(delegate);
  }

  long commitCpuNanos() {
    return commitCpuNanos.get();
  }

  @Override
  public void commitBatch(Batch batch) throws LedgerUnavailableException {
    long start = MX.getCurrentThreadCpuTime();
    try {
      super.commitBatch(batch);
    } finally {
      commitCpuNanos.addAndGet(MX.getCurrentThreadCpuTime() - start);
    }
  }

  @Override
  public void commitBatch(Batch batch, ConsensusPosition position) throws LedgerUnavailableException {
    long start = MX.getCurrentThreadCpuTime();
    try {
      super.commitBatch(batch, position);
    } finally {
      commitCpuNanos.addAndGet(MX.getCurrentThreadCpuTime() - start);
    }
  }
}
