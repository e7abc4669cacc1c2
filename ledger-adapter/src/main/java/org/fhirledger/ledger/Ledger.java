package org.fhirledger.ledger;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.fhirledger.ledger.note.NoteVerifier;

/**
 * A verifiable, append-only log: an RFC 6962 Merkle tree over SHA-256, stored as C2SP tlog-tiles, with C2SP
 * tlog-checkpoints signed by the log's Ed25519 key.
 *
 * <p><b>Thread-safety:</b> all methods may be called concurrently from any number of threads. Concurrent appends
 * are group-committed: batched into one database transaction and one new signed checkpoint.
 *
 * <p><b>Durability:</b> an entry's index is final, and the entry survives a crash of the process, only once its
 * append has completed normally. An append that failed or did not complete may or may not be in the log.
 *
 * <p><b>Reads</b> only ever see committed batches: every read is answered for tree sizes up to
 * {@link #latestCheckpoint()}'s size. Arguments are non-null.
 */
public interface Ledger extends AutoCloseable {

  /**
   * Appends one entry. The future completes with the entry's index and the checkpoint covering it once the batch
   * holding it is committed; it completes exceptionally with {@link LedgerUnavailableException} if the batch
   * failed, the writer was fenced, or the ledger closed.
   *
   * @param entry at most 65535 bytes (the C2SP entry bundle limit); copied before this method returns
   * @throws IllegalArgumentException if the entry is too large
   */
  CompletableFuture<AppendResult> appendAsync(byte[] entry);

  /** Appends one entry and waits until it is durable; see {@link #appendAsync}. */
  default AppendResult append(byte[] entry) throws LedgerUnavailableException, InterruptedException {
    try {
      return appendAsync(entry).get();
    } catch (java.util.concurrent.ExecutionException e) {
      if (e.getCause() instanceof LedgerUnavailableException u) {
        throw u;
      }
      throw new LedgerUnavailableException("append failed: " + e.getCause(), e.getCause());
    }
  }

  /** The latest signed checkpoint (there is always one: the empty log has a checkpoint of size 0). */
  Checkpoint latestCheckpoint();

  /** The verifier key of this log, which is all a verifier needs to trust. */
  NoteVerifier verifier();

  /**
   * An inclusion proof for entry {@code index} in the tree of {@code treeSize}; O(log n) tile reads.
   *
   * @throws IllegalArgumentException unless {@code 0 <= index < treeSize <= latestCheckpoint().size()}
   * @throws LedgerUnavailableException if storage cannot be read
   */
  InclusionProof inclusionProof(long index, long treeSize) throws LedgerUnavailableException;

  /**
   * A consistency proof from {@code size1} to {@code size2}; O(log n) tile reads.
   *
   * @throws IllegalArgumentException unless {@code 0 <= size1 <= size2 <= latestCheckpoint().size()}
   * @throws LedgerUnavailableException if storage cannot be read
   */
  ConsistencyProof consistencyProof(long size1, long size2) throws LedgerUnavailableException;

  /**
   * Entries {@code [from, to)}, at most 4096 at a time.
   *
   * @throws IllegalArgumentException unless {@code 0 <= from <= to <= latestCheckpoint().size()} and the range is
   *     at most 4096
   */
  List<LedgerEntry> entries(long from, long to) throws LedgerUnavailableException;

  /**
   * Hash tile {@code tile/<level>/<index>[.p/<width>]}, byte for byte as C2SP tlog-tiles serves it.
   *
   * @throws IllegalArgumentException if that tile does not exist at the latest checkpoint's size
   */
  byte[] tile(int level, long index, int width) throws LedgerUnavailableException;

  /**
   * Entry bundle {@code tile/entries/<index>[.p/<width>]}, byte for byte as C2SP tlog-tiles serves it.
   *
   * @throws IllegalArgumentException if that bundle does not exist at the latest checkpoint's size
   */
  byte[] entryBundle(long index, int width) throws LedgerUnavailableException;

  /**
   * Stops accepting appends, completes or fails the pending ones, and releases the storage. Idempotent.
   */
  @Override
  void close();
}
