package org.fhirledger.ledger;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.fhirledger.ledger.LedgerStorage.Batch;
import org.fhirledger.ledger.LedgerStorage.WriterState;
import org.fhirledger.ledger.merkle.MerkleProofs;
import org.fhirledger.ledger.merkle.ProofVerifier;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.note.NoteVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Ledger}: one sequencer thread drains pending appends into batches (up to {@code maxBatchSize}, waiting
 * at most {@code maxBatchDelay} for more), hashes them onto the in-memory right edge of the tree, signs the new
 * checkpoint after proving it consistent with the last one, commits entries, tiles and checkpoint in one
 * transaction, and only then completes the appenders' futures.
 */
final class SequencingLedger implements Ledger, LedgerReplica {
  private static final Logger log = LoggerFactory.getLogger(SequencingLedger.class);
  private record Pending(byte[] data, CompletableFuture<AppendResult> future) {}

  private static final Pending STOP = new Pending(new byte[0], new CompletableFuture<>());

  private final LedgerStorage storage;
  private final LogReads reads;
  private final NoteSigner signer;
  private final LedgerOptions options;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread sequencer;

  private volatile Checkpoint latest;
  private volatile boolean closed;
  private volatile LedgerUnavailableException fenced;
  private final boolean replica;
  private volatile LedgerStorage.ConsensusPosition applied = LedgerStorage.ConsensusPosition.NONE;

  // Owned by the sequencer thread after construction.
  private long epoch;
  private RightEdge edge;
  private boolean needsRecovery;

  private SequencingLedger(LedgerStorage storage, NoteSigner signer, LedgerOptions options, boolean replica) {
    this.storage = storage;
    this.reads = new LogReads(storage);
    this.signer = signer;
    this.options = options;
    this.replica = replica;
    this.sequencer = Thread.ofPlatform().name("ledger-sequencer").daemon(true).unstarted(this::run);
  }

  static SequencingLedger open(LedgerStorage storage, NoteSigner signer, LedgerOptions options)
      throws LedgerUnavailableException, LedgerVerificationException {
    Objects.requireNonNull(storage, "storage");
    Objects.requireNonNull(signer, "signer");
    Objects.requireNonNull(options, "options");
    SequencingLedger l = new SequencingLedger(storage, signer, options, false);
    WriterState ws = storage.acquireWriter(options.writerName());
    l.epoch = ws.epoch();
    l.load(ws.treeSize());
    l.sequencer.start();
    log.info("ledger {} open as writer epoch {} at tree size {}", signer.name(), l.epoch, l.latest.size());
    return l;
  }

  /** Opens a replica: no sequencer thread; batches arrive through {@link #apply}. */
  static SequencingLedger openReplica(LedgerStorage storage, NoteSigner signer, LedgerOptions options)
      throws LedgerUnavailableException, LedgerVerificationException {
    Objects.requireNonNull(storage, "storage");
    Objects.requireNonNull(signer, "signer");
    Objects.requireNonNull(options, "options");
    SequencingLedger l = new SequencingLedger(storage, signer, options, true);
    WriterState ws = storage.acquireWriter(options.writerName());
    l.epoch = ws.epoch();
    l.load(ws.treeSize());
    l.applied = storage.consensusPosition();
    log.info("ledger replica {} open at tree size {}, consensus position {}", signer.name(), l.latest.size(),
        l.applied);
    return l;
  }

  @Override
  public LedgerStorage.ConsensusPosition appliedPosition() {
    return applied;
  }

  @Override
  public synchronized Checkpoint apply(List<byte[]> entries, LedgerStorage.ConsensusPosition position)
      throws LedgerUnavailableException {
    if (!replica) {
      throw new IllegalStateException("not a replica");
    }
    Objects.requireNonNull(position, "position");
    LedgerStorage.ConsensusPosition last = applied;
    if (position.index() < last.index() || position.term() < last.term()) {
      throw new IllegalArgumentException("consensus position " + position + " is before the applied " + last);
    }
    if (closed) {
      throw new LedgerUnavailableException("the ledger is closed");
    }
    for (byte[] e : entries) {
      if (e.length > 0xFFFF) {
        throw new IllegalArgumentException("entry of " + e.length + " bytes exceeds the 65535-byte limit");
      }
    }
    Checkpoint cp = commitEntries(entries, position);
    applied = position;
    return cp;
  }

  @Override
  public List<Long> batchEnds(long after, int limit) throws LedgerUnavailableException {
    long size = latest.size();
    if (after >= size) {
      return List.of();
    }
    return storage.checkpointSizes(after + 1, size, limit);
  }

  @Override
  public Ledger reader() {
    return this;
  }

  /**
   * Loads the right edge for {@code size} from stored tiles and refuses to continue unless its root is the root of
   * the stored checkpoint for that size, signed by this log's key: the log then only ever extends what it signed.
   */
  private void load(long size) throws LedgerUnavailableException, LedgerVerificationException {
    RightEdge e = RightEdge.load(storage, size);
    byte[] root = e.root();
    Optional<String> note = storage.checkpoint(size);
    Checkpoint cp;
    if (note.isEmpty()) {
      if (size != 0) {
        throw new LedgerVerificationException("stored tree size is " + size + " but no checkpoint is stored for it;"
            + " refusing to sign");
      }
      cp = Checkpoints.sign(signer, 0, root);
      storage.commitBatch(new Batch(epoch, 0, 0, List.of(), List.of(), cp.signedNote()));
    } else {
      cp = Checkpoints.open(note.get(), signer.verifier());
      if (cp.size() != size || !Arrays.equals(cp.rootHash(), root)) {
        throw new LedgerVerificationException("stored tiles give root " + Rfc6962.hex(root) + " at size " + size
            + " but the signed checkpoint says size " + cp.size() + ", root " + Rfc6962.hex(cp.rootHash())
            + "; refusing to sign anything inconsistent with it");
      }
    }
    edge = e;
    latest = cp;
  }

  @Override
  public CompletableFuture<AppendResult> appendAsync(byte[] entry) {
    Objects.requireNonNull(entry, "entry");
    if (entry.length > 0xFFFF) {
      throw new IllegalArgumentException("entry of " + entry.length + " bytes exceeds the 65535-byte limit");
    }
    if (replica) {
      throw new UnsupportedOperationException("this ledger is a replica: append through its consensus group");
    }
    CompletableFuture<AppendResult> f = new CompletableFuture<>();
    if (closed) {
      f.completeExceptionally(new LedgerUnavailableException("the ledger is closed"));
      return f;
    }
    LedgerUnavailableException fence = fenced;
    if (fence != null) {
      f.completeExceptionally(fence);
      return f;
    }
    Pending p = new Pending(entry.clone(), f);
    queue.add(p);
    if (closed && queue.remove(p)) {
      f.completeExceptionally(new LedgerUnavailableException("the ledger is closed"));
    }
    return f;
  }

  private void run() {
    List<Pending> batch = new ArrayList<>();
    int max = options.maxBatchSize();
    long delayNanos = options.maxBatchDelay().toNanos();
    boolean stop = false;
    while (!stop) {
      try {
        batch.add(queue.take());
        queue.drainTo(batch, max - 1);
        if (delayNanos > 0 && batch.size() < max && !batch.contains(STOP)) {
          long deadline = System.nanoTime() + delayNanos;
          while (batch.size() < max) {
            long left = deadline - System.nanoTime();
            Pending p = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : null;
            if (p == null) {
              break;
            }
            batch.add(p);
            if (p == STOP) {
              break;
            }
            queue.drainTo(batch, max - batch.size());
          }
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        stop = true;
      }
      int stopAt = batch.indexOf(STOP);
      if (stopAt >= 0) {
        stop = true;
        fail(batch.subList(stopAt, batch.size()), new LedgerUnavailableException("the ledger is closed"));
        batch.subList(stopAt, batch.size()).clear();
      }
      if (!batch.isEmpty()) {
        process(batch);
      }
      batch.clear();
    }
    List<Pending> rest = new ArrayList<>();
    queue.drainTo(rest);
    fail(rest, new LedgerUnavailableException("the ledger is closed"));
  }

  private void process(List<Pending> batch) {
    List<byte[]> entries = new ArrayList<>(batch.size());
    for (Pending p : batch) {
      entries.add(p.data());
    }
    Checkpoint cp;
    try {
      cp = commitEntries(entries, null);
    } catch (LedgerUnavailableException e) {
      fail(batch, e);
      return;
    }
    long first = cp.size() - batch.size();
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).future().complete(new AppendResult(first + i, cp));
    }
  }

  /**
   * Hashes {@code entries} onto the right edge, signs the extension after proving it consistent, and commits it as
   * one batch (with {@code position}, if not null). Called by one thread at a time: the sequencer, or a replica's
   * {@link #apply}.
   */
  private Checkpoint commitEntries(List<byte[]> entries, LedgerStorage.ConsensusPosition position)
      throws LedgerUnavailableException {
    if (fenced != null) {
      throw fenced;
    }
    if (needsRecovery && !recover()) {
      throw new LedgerUnavailableException("the ledger database is unavailable");
    }
    long oldSize = edge.size();
    if (entries.isEmpty()) {
      if (position != null) {
        storage.commitBatch(new Batch(epoch, oldSize, oldSize, List.of(), List.of(), latest.signedNote()), position);
      }
      return latest;
    }
    List<byte[]> leaves = new ArrayList<>(entries.size());
    for (byte[] e : entries) {
      leaves.add(Rfc6962.leafHash(e));
    }
    RightEdge.Extension ext = edge.extend(leaves);
    RightEdge next = ext.edge();
    Checkpoint cp;
    try {
      cp = signExtension(oldSize, ext);
    } catch (LedgerVerificationException | LedgerUnavailableException | RuntimeException e) {
      LedgerUnavailableException stopNow = new LedgerUnavailableException(
          "refusing to sign a checkpoint for batch [" + oldSize + ", " + next.size() + "): " + e.getMessage(), e);
      log.error("ledger writer stops: {}", stopNow.getMessage());
      fenced = stopNow;
      throw stopNow;
    }
    Batch b = new Batch(epoch, oldSize, next.size(), entries, ext.tiles(), cp.signedNote());
    try {
      if (position == null) {
        storage.commitBatch(b);
      } else {
        storage.commitBatch(b, position);
      }
    } catch (LedgerFencedException e) {
      log.warn("ledger writer fenced: {}", e.getMessage());
      fenced = e;
      throw e;
    } catch (LedgerUnavailableException e) {
      log.warn("ledger batch failed: {}", e.getMessage());
      needsRecovery = true;
      throw e;
    }
    edge = next;
    latest = cp;
    return cp;
  }

  /**
   * Signs the checkpoint for the extended tree only after checking, with an RFC 6962 consistency proof computed from
   * the old right edge's compact range and the nodes this batch completed, that it extends the last signed
   * checkpoint.
   */
  private Checkpoint signExtension(long oldSize, RightEdge.Extension ext)
      throws LedgerVerificationException, LedgerUnavailableException {
    Checkpoint previous = latest;
    if (previous.size() != oldSize) {
      throw new LedgerVerificationException("the right edge is at size " + oldSize + " but the last checkpoint is at "
          + previous.size());
    }
    long newSize = ext.edge().size();
    byte[] root = MerkleProofs.root(newSize, ext.nodes());
    if (oldSize > 0) {
      List<byte[]> proof = MerkleProofs.consistencyProof(oldSize, newSize, ext.nodes());
      ProofVerifier.verifyConsistency(oldSize, newSize, previous.rootHash(), root, proof);
    }
    return Checkpoints.sign(signer, newSize, root);
  }

  /** After a failed commit, learns from storage whether it committed; returns false if storage is still down. */
  private boolean recover() {
    try {
      WriterState ws = storage.readState();
      if (ws.epoch() != epoch) {
        fenced = new LedgerFencedException("another writer (epoch " + ws.epoch() + ") took the log over from epoch "
            + epoch);
        return false;
      }
      load(ws.treeSize());
      if (replica) {
        applied = storage.consensusPosition();
      }
      needsRecovery = false;
      return true;
    } catch (LedgerUnavailableException e) {
      return false;
    } catch (LedgerVerificationException e) {
      fenced = new LedgerUnavailableException("stored log does not match its checkpoint: " + e.getMessage(), e);
      return false;
    }
  }

  private static void fail(List<Pending> pending, LedgerUnavailableException e) {
    for (Pending p : pending) {
      p.future().completeExceptionally(e);
    }
  }

  @Override
  public Checkpoint latestCheckpoint() {
    return latest;
  }

  @Override
  public NoteVerifier verifier() {
    return signer.verifier();
  }

  @Override
  public InclusionProof inclusionProof(long index, long treeSize) throws LedgerUnavailableException {
    return reads.inclusionProof(index, treeSize, latest.size());
  }

  @Override
  public ConsistencyProof consistencyProof(long size1, long size2) throws LedgerUnavailableException {
    return reads.consistencyProof(size1, size2, latest.size());
  }

  @Override
  public List<LedgerEntry> entries(long from, long to) throws LedgerUnavailableException {
    return reads.entries(from, to, latest.size());
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    return reads.tile(level, index, width, latest.size());
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return reads.entryBundle(index, width, latest.size());
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (replica) {
      synchronized (this) {
        storage.close();
      }
      return;
    }
    queue.add(STOP);
    try {
      sequencer.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Pending> rest = new ArrayList<>();
    queue.drainTo(rest);
    rest.remove(STOP);
    fail(rest, new LedgerUnavailableException("the ledger is closed"));
    storage.close();
  }
}
