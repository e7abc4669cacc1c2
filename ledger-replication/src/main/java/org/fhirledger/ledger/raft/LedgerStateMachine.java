package org.fhirledger.ledger.raft;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RoleInfoProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.statemachine.impl.SimpleStateMachineStorage;
import org.apache.ratis.statemachine.impl.SingleFileSnapshotInfo;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerReplica;
import org.fhirledger.ledger.LedgerStorage.ConsensusPosition;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Raft state machine of one member: every committed Raft log entry is one batch, applied to this member's own
 * JDBC log as one transaction together with the entry's Raft position ({@link LedgerReplica#apply}). Members apply
 * the same entries in the same order, so they hold the same log.
 *
 * <p><b>Restart.</b> Ratis replays committed entries after the latest snapshot; an entry whose index is not after
 * the position stored in the JDBC log is already there and is skipped, so a crash between the JDBC commit and Ratis
 * noticing it never applies a batch twice.
 *
 * <p><b>Snapshots</b> are tiny: the JDBC log is durable at every apply, so a snapshot file only records the Raft
 * position, tree size and checkpoint it was taken at, which lets Ratis purge its log. A member whose missing Raft
 * entries were purged ({@link #notifyInstallSnapshotFromLeader}) copies the missing batches, with their boundaries,
 * from the leader through read-only Raft queries, re-creates them locally (same batches, same checkpoints), and
 * checks that its checkpoint is then byte-identical to the leader's.
 *
 * <p><b>Failure.</b> If this member's database fails while applying, the member stops (crash-stop) rather than skip
 * an entry the others applied; restarting it replays from its stored position.
 */
final class LedgerStateMachine extends BaseStateMachine {
  private static final Logger log = LoggerFactory.getLogger(LedgerStateMachine.class);
  private static final int MAX_QUERY_ENTRIES = 4096;

  private final LedgerReplica replica;
  private final NoteVerifier verifier;
  private final SimpleStateMachineStorage snapshots = new SimpleStateMachineStorage();
  private final Object applyLock = new Object();
  private final TreeMap<Long, List<CompletableFuture<Void>>> waiters = new TreeMap<>();
  private final ExecutorService installer = Executors.newSingleThreadExecutor(
      Thread.ofPlatform().name("ledger-raft-catch-up").daemon(true).factory());
  private final AtomicInteger installs = new AtomicInteger();
  private volatile Supplier<RaftClient> client;

  LedgerStateMachine(LedgerReplica replica, NoteVerifier verifier) {
    this.replica = replica;
    this.verifier = verifier;
  }

  void useClient(Supplier<RaftClient> c) {
    this.client = c;
  }

  /** How often this member caught up by copying batches from the leader (after its Raft log was purged). */
  int installsFromLeader() {
    return installs.get();
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage storage) throws IOException {
    super.initialize(server, groupId, storage);
    snapshots.init(storage);
    loadSnapshot();
    getLifeCycle().transition(LifeCycle.State.STARTING);
    getLifeCycle().transition(LifeCycle.State.RUNNING);
  }

  /** Ratis pauses the state machine before it reloads it after a catch-up from the leader. */
  @Override
  public void pause() {
    if (getLifeCycleState() == LifeCycle.State.RUNNING) {
      getLifeCycle().transition(LifeCycle.State.PAUSING);
      getLifeCycle().transition(LifeCycle.State.PAUSED);
    }
  }

  @Override
  public void reinitialize() throws IOException {
    loadSnapshot();
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  private void loadSnapshot() throws IOException {
    SingleFileSnapshotInfo s = snapshots.loadLatestSnapshot();
    if (s == null) {
      return;
    }
    // The snapshot's Raft index may be past the last batch (configuration and leader entries follow it), so compare
    // tree sizes: the database must hold at least what it held when the snapshot was taken.
    long snapshotSize = snapshotTreeSize(s);
    long size = replica.reader().latestCheckpoint().size();
    if (size < snapshotSize) {
      throw new IOException("the ledger database holds " + size + " entries but this member's snapshot at Raft index "
          + s.getIndex() + " was taken at " + snapshotSize + ": the database was replaced or restored from an older "
          + "backup; move " + snapshots.getSnapshotFile(s.getTerm(), s.getIndex()).getParent() + " aside so the "
          + "member catches up from the group");
    }
    if (getLastAppliedTermIndex() == null || getLastAppliedTermIndex().getIndex() < s.getIndex()) {
      setLastAppliedTermIndex(s.getTermIndex());
    }
  }

  private static long snapshotTreeSize(SingleFileSnapshotInfo s) throws IOException {
    for (String line : Files.readAllLines(s.getFile().getPath(), StandardCharsets.UTF_8)) {
      if (line.startsWith("tree-size ")) {
        try {
          return Long.parseLong(line.substring("tree-size ".length()).trim());
        } catch (NumberFormatException e) {
          break;
        }
      }
    }
    throw new IOException("snapshot file " + s.getFile().getPath() + " has no tree-size line");
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return snapshots;
  }

  @Override
  public SingleFileSnapshotInfo getLatestSnapshot() {
    return snapshots.getLatestSnapshot();
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto entry = trx.getLogEntry();
    TermIndex ti = TermIndex.valueOf(entry);
    List<byte[]> batch;
    try {
      batch = Messages.readBatch(entry.getStateMachineLogEntry().getLogData());
    } catch (IllegalArgumentException malformed) {
      // Every member decodes the same bytes the same way, so skipping is deterministic: a malformed proposal (from
      // a faulty or hostile member) is refused by all, and stops none.
      log.warn("member {} skips malformed Raft entry {}: {}", getId(), ti, malformed.getMessage());
      synchronized (applyLock) {
        updateLastAppliedTermIndex(ti);
      }
      return CompletableFuture.completedFuture(Message.EMPTY);
    }
    Message reply;
    long size;
    synchronized (applyLock) {
      if (ti.getIndex() <= replica.appliedPosition().index()) {
        // Replayed after a restart: this batch is already in the log (its position was committed with it).
        updateLastAppliedTermIndex(ti);
        return CompletableFuture.completedFuture(Message.EMPTY);
      }
      Checkpoint cp;
      try {
        cp = replica.apply(batch, new ConsensusPosition(ti.getTerm(), ti.getIndex()));
      } catch (LedgerUnavailableException e) {
        // Never skip an entry the others applied: stop this member; on restart it replays from its position.
        log.error("member {} cannot apply Raft entry {} to its ledger and stops: {}", getId(), ti, e.getMessage());
        throw new IllegalStateException("cannot apply Raft entry " + ti + " to the ledger: " + e.getMessage(), e);
      }
      size = cp.size();
      reply = Messages.committed(size - batch.size(), cp.signedNote());
      updateLastAppliedTermIndex(ti);
    }
    releaseWaiters(size);
    return CompletableFuture.completedFuture(reply);
  }

  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    // Configuration and leader no-op entries; during replay they may be older than what the ledger already holds.
    TermIndex last = getLastAppliedTermIndex();
    if (last == null || index > last.getIndex()) {
      super.notifyTermIndexUpdated(term, index);
    }
  }

  /** Completes once this member's log holds at least {@code size} entries. */
  CompletableFuture<Void> awaitSize(long size) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    synchronized (waiters) {
      if (replica.reader().latestCheckpoint().size() >= size) {
        f.complete(null);
      } else {
        waiters.computeIfAbsent(size, k -> new ArrayList<>()).add(f);
      }
    }
    // the apply may have run between the check and the registration
    releaseWaiters(replica.reader().latestCheckpoint().size());
    return f;
  }

  private void releaseWaiters(long size) {
    List<CompletableFuture<Void>> ready = new ArrayList<>();
    synchronized (waiters) {
      Map<Long, List<CompletableFuture<Void>>> head = waiters.headMap(size, true);
      head.values().forEach(ready::addAll);
      head.clear();
    }
    ready.forEach(f -> f.complete(null));
  }

  void failWaiters(Throwable t) {
    List<CompletableFuture<Void>> all = new ArrayList<>();
    synchronized (waiters) {
      waiters.values().forEach(all::addAll);
      waiters.clear();
    }
    all.forEach(f -> f.completeExceptionally(t));
  }

  @Override
  public long takeSnapshot() throws IOException {
    Messages.State s;
    TermIndex ti;
    synchronized (applyLock) {
      ti = getLastAppliedTermIndex();
      Checkpoint cp = replica.reader().latestCheckpoint();
      s = new Messages.State(ti.getTerm(), ti.getIndex(), cp.size(), cp.signedNote());
    }
    writeSnapshot(ti, s);
    return ti.getIndex();
  }

  private void writeSnapshot(TermIndex ti, Messages.State s) throws IOException {
    File file = snapshots.getSnapshotFile(ti.getTerm(), ti.getIndex());
    File tmp = new File(file.getParentFile(), file.getName() + ".tmp");
    // What the JDBC log held at this position; the log itself is the state and is durable at every apply.
    String text = "raft-term " + s.term() + "\nraft-index " + s.index() + "\ntree-size " + s.size() + "\n\n"
        + s.checkpointNote();
    Files.writeString(tmp.toPath(), text, StandardCharsets.UTF_8);
    Files.move(tmp.toPath(), file.toPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    snapshots.updateLatestSnapshot(new SingleFileSnapshotInfo(new FileInfo(file.toPath(), null), ti));
  }

  @Override
  public CompletableFuture<Message> query(Message request) {
    ByteString q = request.getContent();
    try {
      if (q.size() == 1 && q.byteAt(0) == Messages.QUERY_STATE) {
        synchronized (applyLock) {
          TermIndex ti = getLastAppliedTermIndex();
          Checkpoint cp = replica.reader().latestCheckpoint();
          return CompletableFuture.completedFuture(Messages.state(
              new Messages.State(ti.getTerm(), ti.getIndex(), cp.size(), cp.signedNote())));
        }
      }
      long[] range = Messages.readBatchesQuery(q);
      return CompletableFuture.completedFuture(Messages.batches(batches(range[0], range[1])));
    } catch (LedgerUnavailableException | RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }

  /** The stored batches starting at {@code from} and ending at or before {@code to}, up to about 4096 entries. */
  private List<List<byte[]>> batches(long from, long to) throws LedgerUnavailableException {
    List<List<byte[]>> out = new ArrayList<>();
    long start = from;
    int total = 0;
    for (long end : replica.batchEnds(from, 1024)) {
      if (end > to || (total > 0 && total + (end - start) > MAX_QUERY_ENTRIES)) {
        break;
      }
      List<byte[]> batch = new ArrayList<>((int) (end - start));
      for (long i = start; i < end; i += MAX_QUERY_ENTRIES) {
        for (LedgerEntry e : replica.reader().entries(i, Math.min(end, i + MAX_QUERY_ENTRIES))) {
          batch.add(e.data());
        }
      }
      out.add(batch);
      total += batch.size();
      start = end;
    }
    return out;
  }

  @Override
  public CompletableFuture<TermIndex> notifyInstallSnapshotFromLeader(RoleInfoProto roleInfo,
      TermIndex firstTermIndexInLog) {
    return CompletableFuture.supplyAsync(() -> {
      try {
        return catchUpFromLeader(firstTermIndexInLog);
      } catch (Exception e) {
        log.error("member {} could not catch up from the leader: {}", getId(), e.getMessage());
        throw new IllegalStateException("catching up from the leader failed: " + e.getMessage(), e);
      }
    }, installer);
  }

  /**
   * Copies the batches this member misses from the leader, as the leader committed them, up to the leader's state at
   * one position, and returns that position. The position is committed with the first copied batch: a crash midway
   * leaves a member that Raft again asks to catch up (its log is still behind the leader's purged log), and it then
   * continues from the entries it holds.
   */
  private TermIndex catchUpFromLeader(TermIndex firstInLeaderLog) throws Exception {
    RaftClient c = client.get();
    Messages.State target = Messages.readState(readOnly(c, Messages.stateQuery()).getMessage().getContent());
    if (target.index() < firstInLeaderLog.getIndex() - 1) {
      throw new IllegalStateException("the leader reports Raft index " + target.index() + ", before its first log "
          + "entry " + firstInLeaderLog);
    }
    Checkpoint leaderCp = Checkpoints.open(target.checkpointNote(), verifier);
    ConsensusPosition position = new ConsensusPosition(target.term(), target.index());
    long size = replica.reader().latestCheckpoint().size();
    log.info("member {} catches up from the leader: tree size {} -> {}, Raft index {}", getId(), size,
        target.size(), target.index());
    synchronized (applyLock) {
      boolean first = true;
      while (size < target.size()) {
        List<List<byte[]>> batches = Messages.readBatches(
            readOnly(c, Messages.batchesQuery(size, target.size())).getMessage().getContent());
        if (batches.isEmpty()) {
          throw new IllegalStateException("the leader sent no batches from tree size " + size);
        }
        for (List<byte[]> b : batches) {
          replica.apply(b, first ? position : replica.appliedPosition());
          first = false;
          size += b.size();
        }
        releaseWaiters(size);
      }
      if (first) {
        replica.apply(List.of(), position);
      }
      Checkpoint mine = replica.reader().latestCheckpoint();
      if (mine.size() != leaderCp.size() || !Arrays.equals(mine.rootHash(), leaderCp.rootHash())
          || !mine.signedNote().equals(leaderCp.signedNote())) {
        throw new LedgerVerificationException("after catching up, this member's checkpoint " + mine
            + " differs from the leader's " + leaderCp);
      }
      TermIndex ti = TermIndex.valueOf(target.term(), target.index());
      writeSnapshot(ti, target);
      updateLastAppliedTermIndex(ti);
      installs.incrementAndGet();
      log.info("member {} caught up to tree size {} at Raft index {}", getId(), size, ti);
      return ti;
    }
  }

  private static RaftClientReply readOnly(RaftClient c, Message m) throws IOException {
    RaftClientReply reply = c.io().sendReadOnly(m);
    if (!reply.isSuccess()) {
      throw new IOException("read-only query failed: " + reply.getException());
    }
    return reply;
  }

  @Override
  public void close() throws IOException {
    installer.shutdownNow();
    failWaiters(new LedgerUnavailableException("the ledger member is closed"));
    super.close();
  }
}
