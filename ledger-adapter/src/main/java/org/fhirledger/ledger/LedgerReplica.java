package org.fhirledger.ledger;

import java.util.List;
import org.fhirledger.ledger.LedgerStorage.ConsensusPosition;

/**
 * One member's copy of a log whose order is decided elsewhere, by a consensus engine (Raft in
 * {@code ledger-replication}): the engine hands each decided batch to {@link #apply}, on every member in the same
 * order, and every member commits it as exactly one batch with exactly one checkpoint. Members that start from the
 * same log and apply the same batches hold the same entries, the same tiles and the same roots; with the same signing
 * key (Ed25519 signatures are deterministic) they also hold byte-identical checkpoints.
 *
 * <p>{@link #apply} is called by one thread at a time (the engine's apply thread); reads through {@link #reader()}
 * are thread-safe and see only committed batches. Before committing, {@link #apply} proves the new tree consistent
 * with the last signed checkpoint, as the single-writer ledger does.
 */
public interface LedgerReplica extends AutoCloseable {

  /** The consensus position committed with the last applied batch, {@link ConsensusPosition#NONE} at first. */
  ConsensusPosition appliedPosition();

  /**
   * Appends {@code entries} as one batch (one transaction, one checkpoint) and records {@code position} with it.
   * Durable when it returns. An empty list records the position only.
   *
   * @param position must not be before {@link #appliedPosition()}
   * @return the checkpoint covering the batch
   * @throws LedgerUnavailableException if storage failed (the batch may or may not be committed: reopen to learn
   *     which) or the stored log no longer matches what this replica signed
   */
  Checkpoint apply(List<byte[]> entries, ConsensusPosition position) throws LedgerUnavailableException;

  /**
   * Tree sizes of the stored checkpoints in {@code (after, latest]}, ascending, at most {@code limit}: the batch
   * boundaries, so a member that catches up from another can re-create the same batches and the same checkpoints.
   */
  List<Long> batchEnds(long after, int limit) throws LedgerUnavailableException;

  /**
   * The read side of this replica (checkpoints, proofs, tiles, entries). Its append methods throw
   * {@link UnsupportedOperationException}: appends go through the consensus engine.
   */
  Ledger reader();

  /** Releases the storage. Idempotent. */
  @Override
  void close();
}
