package org.fhirledger.ledger;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.tiles.TileReader;

/**
 * Storage port of the ledger: one writer appends batches, any number of readers read tiles, entries and
 * checkpoints. Single-writer safety is the storage's job: {@link #acquireWriter} takes the log over by raising its
 * writer epoch, and {@link #commitBatch} commits only if the epoch is still the caller's and the tree size is the
 * one the caller extended (compare-and-set in the batch's own transaction); otherwise it throws
 * {@link LedgerFencedException} and writes nothing.
 *
 * <p>Implementations are thread-safe. A batch is atomic: after a crash, storage holds exactly the batches whose
 * {@link #commitBatch} returned, possibly plus the last one whose call was interrupted.
 */
public interface LedgerStorage extends TileReader, AutoCloseable {

  /** The writer's view after taking the log over. */
  record WriterState(long epoch, long treeSize) {}

  /** A hash tile to store: {@code hashes.length / 32} hashes, 256 for a full tile. */
  record TileWrite(int level, long index, byte[] hashes) {
    public TileWrite {
      Objects.requireNonNull(hashes, "hashes");
      if (hashes.length == 0 || hashes.length % 32 != 0 || hashes.length > 256 * 32) {
        throw new IllegalArgumentException("a tile holds 1..256 hashes, got " + hashes.length + " bytes");
      }
    }

    public int width() {
      return hashes.length / 32;
    }
  }

  /**
   * One group commit: entries {@code [oldSize, newSize)}, the tiles they changed, and the signed checkpoint for
   * {@code newSize}.
   */
  record Batch(long epoch, long oldSize, long newSize, List<byte[]> entries, List<TileWrite> tiles,
      String checkpointNote) {
    public Batch {
      entries = List.copyOf(entries);
      tiles = List.copyOf(tiles);
      Objects.requireNonNull(checkpointNote, "checkpointNote");
      if (newSize - oldSize != entries.size()) {
        throw new IllegalArgumentException("batch from " + oldSize + " to " + newSize + " has " + entries.size()
            + " entries");
      }
    }
  }

  /**
   * Makes the caller the log's only writer by raising the writer epoch; any previous writer is fenced from its
   * next batch on. Durable when it returns.
   *
   * @param owner a description of the new writer (host, pid), stored for operators
   */
  WriterState acquireWriter(String owner) throws LedgerUnavailableException;

  /** The current writer epoch and tree size, as committed. */
  WriterState readState() throws LedgerUnavailableException;

  /**
   * Commits a batch atomically, iff the writer epoch is still {@code batch.epoch()} and the stored tree size is
   * {@code batch.oldSize()}. Durable when it returns.
   *
   * @throws LedgerFencedException if another writer took over or the tree moved; nothing was written
   * @throws LedgerUnavailableException if the database failed; the batch may or may not have been committed
   */
  void commitBatch(Batch batch) throws LedgerUnavailableException;

  /**
   * A position in an external consensus log (for Raft: term and log index) that a replicated ledger has applied up
   * to; {@code (-1, -1)} when nothing was applied.
   */
  record ConsensusPosition(long term, long index) {
    public static final ConsensusPosition NONE = new ConsensusPosition(-1, -1);

    public ConsensusPosition {
      if (term < -1 || index < -1) {
        throw new IllegalArgumentException("term and index must be >= -1, were " + term + ", " + index);
      }
    }
  }

  /**
   * Like {@link #commitBatch(Batch)}, and records {@code position} as the last applied consensus position in the same
   * transaction, so a crash leaves the log and the position in agreement. Only storage that backs a replicated
   * ledger implements it.
   *
   * @throws UnsupportedOperationException if this storage cannot record consensus positions
   */
  default void commitBatch(Batch batch, ConsensusPosition position) throws LedgerUnavailableException {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not record consensus positions");
  }

  /**
   * The consensus position committed with the last batch (see {@link #commitBatch(Batch, ConsensusPosition)}).
   *
   * @throws UnsupportedOperationException if this storage cannot record consensus positions
   */
  default ConsensusPosition consensusPosition() throws LedgerUnavailableException {
    throw new UnsupportedOperationException(getClass().getSimpleName() + " does not record consensus positions");
  }

  /** The signed note of the checkpoint for {@code treeSize}, if one was stored. */
  Optional<String> checkpoint(long treeSize) throws LedgerUnavailableException;

  /** The signed note of the checkpoint with the largest tree size, if any. */
  Optional<String> latestCheckpoint() throws LedgerUnavailableException;

  /** Tree sizes of stored checkpoints in {@code [from, to]}, ascending, at most {@code limit}. */
  List<Long> checkpointSizes(long from, long to, int limit) throws LedgerUnavailableException;

  /**
   * Entries {@code [from, to)} in order.
   *
   * @throws LedgerUnavailableException if any is missing or storage fails
   */
  List<byte[]> entries(long from, long to) throws LedgerUnavailableException;

  @Override
  void close();
}
