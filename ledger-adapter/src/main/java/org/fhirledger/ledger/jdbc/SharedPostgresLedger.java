package org.fhirledger.ledger.jdbc;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.ConsistencyProof;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerFencedException;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LogReads;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.note.NoteVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of several stateless gateway instances sharing one PostgreSQL ledger. At most one instance is the sequencer
 * at a time: the one holding the log's PostgreSQL session advisory lock (the lease). An instance becomes sequencer
 * on demand, when it has appends to make: it waits for the lease, then opens the log as its single writer (which
 * raises the writer epoch and so fences any earlier writer, see {@code JdbcLedgerStorage}), and appends through
 * that writer's group commit. It hands the lease over when another instance waits for it and either its own queue
 * is empty or it has sequenced for {@code slice}, so busy instances take turns. When the sequencer dies, PostgreSQL
 * ends its session and releases the lease; a waiting instance takes over at once.
 *
 * <p>Why both a lock and the epoch: the epoch alone keeps the log correct (a stale writer commits nothing), but
 * instances would fence each other at every batch and fail appends; the lease makes them wait their turn instead.
 * And the lock alone is not safe (a paused process may still believe it holds it); the epoch is.
 *
 * <p>Reads (checkpoint, proofs, tiles, entries) are answered from the database by every instance, up to the latest
 * committed checkpoint, which is verified with the log's key. Appends follow the {@link Ledger} contract; an append
 * that failed (e.g. its sequencer was fenced or died) may or may not be in the log. Thread-safe.
 */
public final class SharedPostgresLedger implements Ledger {
  private static final Logger log = LoggerFactory.getLogger(SharedPostgresLedger.class);
  private static final int LOCK_CLASS = 0x4C454447; // "LEDG"
  private record Pending(byte[] data, CompletableFuture<AppendResult> future) {}

  private final DataSource dataSource;
  private final NoteSigner signer;
  private final LedgerOptions options;
  private final Duration slice;
  private final int lockKey;
  private final JdbcLedgerStorage reader;
  private final LogReads reads;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread worker;
  private volatile boolean closed;
  private volatile Checkpoint known;

  // owned by the worker thread
  private Connection lease;
  private volatile Ledger writer;
  private long leaseSince;
  private volatile boolean lostWriter;
  private volatile int leases;

  private SharedPostgresLedger(DataSource dataSource, NoteSigner signer, LedgerOptions options, Duration slice,
      JdbcLedgerStorage reader) {
    this.dataSource = dataSource;
    this.signer = signer;
    this.options = options;
    this.slice = slice;
    this.reader = reader;
    this.reads = new LogReads(reader);
    this.lockKey = lockKey(signer.name());
    this.worker = Thread.ofPlatform().name("ledger-lease").daemon(true).unstarted(this::run);
  }

  /**
   * Joins the instances sharing the PostgreSQL ledger on {@code dataSource} (migrating the schema if needed).
   *
   * @param slice how long a busy sequencer keeps the lease while another instance waits (e.g. 100 ms)
   * @throws LedgerUnavailableException if the database cannot be reached
   * @throws LedgerVerificationException if the latest stored checkpoint is not signed by the log's key
   */
  public static SharedPostgresLedger open(DataSource dataSource, NoteSigner signer, LedgerOptions options,
      Duration slice) throws LedgerUnavailableException, LedgerVerificationException {
    Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(signer, "signer");
    Objects.requireNonNull(options, "options");
    Objects.requireNonNull(slice, "slice");
    JdbcLedgerStorage reader = JdbcLedgerStorage.open(dataSource, options.clock());
    SharedPostgresLedger l = new SharedPostgresLedger(dataSource, signer, options, slice, reader);
    try {
      l.refresh();
    } catch (LedgerUnavailableException | LedgerVerificationException | RuntimeException e) {
      reader.close();
      throw e;
    }
    l.worker.start();
    return l;
  }

  /** How many times this instance became the sequencer. */
  public int leasesTaken() {
    return leases;
  }

  /** Whether this instance is the sequencer now. */
  public boolean isSequencer() {
    return writer != null;
  }

  @Override
  public CompletableFuture<AppendResult> appendAsync(byte[] entry) {
    Objects.requireNonNull(entry, "entry");
    if (entry.length > 0xFFFF) {
      throw new IllegalArgumentException("entry of " + entry.length + " bytes exceeds the 65535-byte limit");
    }
    CompletableFuture<AppendResult> f = new CompletableFuture<>();
    if (closed) {
      f.completeExceptionally(new LedgerUnavailableException("the ledger is closed"));
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
    while (!closed) {
      try {
        Pending first = queue.poll(50, TimeUnit.MILLISECONDS);
        if (first == null) {
          if (writer != null && (lostWriter || othersWaiting())) {
            release();
          }
          continue;
        }
        batch.add(first);
        queue.drainTo(batch);
        if (writer == null || lostWriter) {
          release();
          acquire();
        }
        for (Pending p : batch) {
          Pending forwarded = p;
          writer.appendAsync(p.data()).whenComplete((r, e) -> {
            if (e == null) {
              forwarded.future().complete(r);
              return;
            }
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
                ? e.getCause() : e;
            if (cause instanceof LedgerFencedException) {
              lostWriter = true;
            }
            forwarded.future().completeExceptionally(cause instanceof LedgerUnavailableException
                ? cause : new LedgerUnavailableException("append failed: " + cause, cause));
          });
        }
        batch.clear();
        if (System.nanoTime() - leaseSince > slice.toNanos() && othersWaiting()) {
          release();
        }
      } catch (InterruptedException e) {
        break;
      } catch (LedgerUnavailableException | LedgerVerificationException | RuntimeException e) {
        log.warn("cannot become the ledger's sequencer: {}", e.getMessage());
        LedgerUnavailableException u = e instanceof LedgerUnavailableException x ? x
            : new LedgerUnavailableException("cannot become the ledger's sequencer: " + e.getMessage(), e);
        batch.forEach(p -> p.future().completeExceptionally(u));
        batch.clear();
        release();
      }
    }
    release();
    List<Pending> rest = new ArrayList<>();
    queue.drainTo(rest);
    rest.forEach(p -> p.future().completeExceptionally(new LedgerUnavailableException("the ledger is closed")));
  }

  /** Waits for the lease (the advisory lock), then opens the log as its writer. */
  private void acquire() throws LedgerUnavailableException, LedgerVerificationException, InterruptedException {
    try {
      lease = dataSource.getConnection();
      lease.setAutoCommit(true);
      try (Statement s = lease.createStatement()) {
        s.execute("SET lock_timeout = '500ms'");
      }
      while (true) {
        if (closed) {
          throw new LedgerUnavailableException("the ledger is closed");
        }
        try (PreparedStatement q = lease.prepareStatement("SELECT pg_advisory_lock(?, ?)")) {
          q.setInt(1, LOCK_CLASS);
          q.setInt(2, lockKey);
          q.execute();
          break;
        } catch (SQLException e) {
          if (!"55P03".equals(e.getSQLState())) { // lock_not_available: someone else sequences; wait on
            throw e;
          }
        }
      }
    } catch (SQLException e) {
      closeLease();
      throw new LedgerUnavailableException("cannot take the sequencer lease: " + e.getMessage(), e);
    }
    lostWriter = false;
    writer = Ledgers.open(JdbcLedgerStorage.openMigrated(dataSource, options.clock()), signer, options);
    leaseSince = System.nanoTime();
    leases++;
    log.info("this instance is now the sequencer of {} (lease {})", signer.name(), leases);
  }

  /** Closes the writer (its queued appends are committed first) and releases the lease. */
  private void release() {
    if (writer != null) {
      writer.close();
      writer = null;
    }
    closeLease();
  }

  private void closeLease() {
    if (lease != null) {
      try {
        lease.close(); // ends the session's advisory lock too
      } catch (SQLException e) {
        log.debug("closing the lease connection: {}", e.getMessage());
      }
      lease = null;
    }
  }

  private boolean othersWaiting() {
    try (PreparedStatement q = lease.prepareStatement("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
        + "AND NOT granted AND classid = ? AND objid = ? AND objsubid = 2")) {
      q.setLong(1, LOCK_CLASS & 0xFFFFFFFFL);
      q.setLong(2, lockKey & 0xFFFFFFFFL);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next() && rs.getLong(1) > 0;
      }
    } catch (SQLException | RuntimeException e) {
      return true; // the lease connection is broken: let go
    }
  }

  private static int lockKey(String origin) {
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(("fhir-ledger-sequencer:" + origin)
          .getBytes(StandardCharsets.UTF_8));
      return ((h[0] & 0xFF) << 24) | ((h[1] & 0xFF) << 16) | ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Reads and verifies the latest committed checkpoint. */
  private Checkpoint refresh() throws LedgerUnavailableException, LedgerVerificationException {
    String note = reader.latestCheckpoint().orElse(null);
    Checkpoint k = known;
    if (note == null) {
      if (k == null) {
        k = Checkpoints.sign(signer, 0, org.fhirledger.ledger.merkle.Rfc6962.emptyRoot());
        known = k;
      }
      return k;
    }
    if (k != null && k.signedNote().equals(note)) {
      return k;
    }
    Checkpoint cp = Checkpoints.open(note, signer.verifier());
    if (k == null || cp.size() >= k.size()) {
      known = cp;
      return cp;
    }
    return k;
  }

  @Override
  public Checkpoint latestCheckpoint() {
    try {
      return refresh();
    } catch (LedgerUnavailableException | LedgerVerificationException e) {
      log.warn("cannot read the latest checkpoint: {}", e.getMessage());
      return known;
    }
  }

  @Override
  public NoteVerifier verifier() {
    return signer.verifier();
  }

  @Override
  public InclusionProof inclusionProof(long index, long treeSize) throws LedgerUnavailableException {
    return reads.inclusionProof(index, treeSize, latestCheckpoint().size());
  }

  @Override
  public ConsistencyProof consistencyProof(long size1, long size2) throws LedgerUnavailableException {
    return reads.consistencyProof(size1, size2, latestCheckpoint().size());
  }

  @Override
  public List<LedgerEntry> entries(long from, long to) throws LedgerUnavailableException {
    return reads.entries(from, to, latestCheckpoint().size());
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    return reads.tile(level, index, width, latestCheckpoint().size());
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return reads.entryBundle(index, width, latestCheckpoint().size());
  }

  /** Stops appending (queued appends fail, forwarded ones are committed or failed), releases the lease. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    worker.interrupt();
    try {
      worker.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    reader.close();
  }
}
