package org.fhirledger.ledger;

import java.util.List;
import java.util.Optional;

/**
 * Storage that forwards every call to a real one; tests and benchmarks override the calls they observe or break.
 */
public class ForwardingLedgerStorage implements LedgerStorage {
  private final LedgerStorage delegate;

  public ForwardingLedgerStorage(LedgerStorage delegate) {
    this.delegate = delegate;
  }

  @Override
  public void commitBatch(Batch batch) throws LedgerUnavailableException {
    delegate.commitBatch(batch);
  }

  @Override
  public void commitBatch(Batch batch, ConsensusPosition position) throws LedgerUnavailableException {
    delegate.commitBatch(batch, position);
  }

  @Override
  public WriterState acquireWriter(String owner) throws LedgerUnavailableException {
    return delegate.acquireWriter(owner);
  }

  @Override
  public WriterState readState() throws LedgerUnavailableException {
    return delegate.readState();
  }

  @Override
  public ConsensusPosition consensusPosition() throws LedgerUnavailableException {
    return delegate.consensusPosition();
  }

  @Override
  public Optional<String> checkpoint(long treeSize) throws LedgerUnavailableException {
    return delegate.checkpoint(treeSize);
  }

  @Override
  public Optional<String> latestCheckpoint() throws LedgerUnavailableException {
    return delegate.latestCheckpoint();
  }

  @Override
  public List<Long> checkpointSizes(long from, long to, int limit) throws LedgerUnavailableException {
    return delegate.checkpointSizes(from, to, limit);
  }

  @Override
  public List<byte[]> entries(long from, long to) throws LedgerUnavailableException {
    return delegate.entries(from, to);
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    return delegate.tile(level, index, width);
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return delegate.entryBundle(index, width);
  }

  @Override
  public void close() {
    delegate.close();
  }
}
