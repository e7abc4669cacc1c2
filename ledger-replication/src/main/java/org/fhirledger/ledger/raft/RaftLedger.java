package org.fhirledger.ledger.raft;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.ConsistencyProof;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.LedgerReplica;
import org.fhirledger.ledger.LedgerStorage;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.note.NoteVerifier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Ledger} replicated between organizations on Apache Ratis (Raft): each organization runs one member,
 * which keeps the whole log in its own JDBC database and answers reads from it.
 *
 * <p><b>Appends.</b> A member's proposer thread drains its pending appends into batches (up to
 * {@link LedgerOptions#maxBatchSize()}) and proposes each batch as one Raft log entry, with up to
 * {@link RaftMemberConfig#maxInFlight()} batches in flight. Raft commits an entry once a majority of members has it
 * in their Raft log; every member's state machine then applies it to its own JDBC log as one batch with one
 * checkpoint. {@link #appendAsync} completes only after (1) the batch was committed by a majority and applied by the
 * leader, whose reply carries the index and the checkpoint, and (2) this member applied it too, so this member's
 * reads already cover the receipt. Proposals that reach a new leader after a failover are retried by the Raft
 * client with the same call id, and Ratis' retry cache answers a retried proposal that was already committed with
 * its first reply: a batch is never appended twice. An append that failed (no majority within the client's retry
 * budget, about 30 s) may or may not be in the log, as with every {@link Ledger}.
 *
 * <p><b>Signing.</b> The log has one origin and one group signing key, shared by the members. Every member signs
 * every checkpoint itself; Ed25519 signatures are deterministic, so all members produce byte-identical checkpoints,
 * and a C2SP tlog client audits the group's log as one log with one verifier key. Whether a member forked its copy
 * is what witness cosignatures by the other members (their own keys) establish.
 *
 * <p>Thread-safe.
 */
public final class RaftLedger implements Ledger {
  private static final Logger log = LoggerFactory.getLogger(RaftLedger.class);

  private record Pending(byte[] data, CompletableFuture<AppendResult> future) {}

  private final RaftMemberConfig config;
  private final LedgerReplica replica;
  private final Ledger reader;
  private final NoteVerifier verifier;
  private final LedgerStateMachine stateMachine;
  private final RaftGroup group;
  private final RaftServer server;
  private final RaftClient client;
  private final int maxBatch;
  private final long maxBatchBytes;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Semaphore inFlight;
  private final Thread proposer;
  private volatile boolean closed;

  private RaftLedger(RaftMemberConfig config, LedgerReplica replica, NoteVerifier verifier, LedgerOptions options)
      throws IOException {
    this.config = config;
    this.replica = replica;
    this.reader = replica.reader();
    this.verifier = verifier;
    this.maxBatch = options.maxBatchSize();
    // a batch is one Raft log entry; it must fit the appender's buffer
    this.maxBatchBytes = appenderBytes(config) / 2;
    this.inFlight = new Semaphore(config.maxInFlight());
    this.stateMachine = new LedgerStateMachine(replica, verifier);
    this.group = group(verifier.name(), config.peers());
    Path raftDir = Files.createDirectories(config.dataDir().resolve("raft"));
    boolean formatted = Files.isDirectory(raftDir.resolve(group.getGroupId().getUuid().toString()));
    Parameters parameters = new Parameters();
    if (config.tls() != null) {
      GrpcConfigKeys.TLS.setConf(parameters, config.tls().grpcConfig());
    }
    this.server = RaftServer.newBuilder()
        .setParameters(parameters)
        .setServerId(RaftPeerId.valueOf(config.memberId()))
        .setGroup(group)
        .setStateMachine(stateMachine)
        .setProperties(serverProperties(config, raftDir))
        .setOption(formatted ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
        .build();
    this.client = RaftClient.newBuilder()
        .setParameters(parameters)
        .setRaftGroup(group)
        .setProperties(clientProperties(config))
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(300,
            TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
        .build();
    stateMachine.useClient(() -> client);
    this.proposer = Thread.ofPlatform().name("ledger-raft-proposer").daemon(true).unstarted(this::propose);
  }

  /**
   * Starts this member: opens its replica of the log on {@code storage} (owned by the member from then on), starts
   * its Raft server on its configured port, and joins the group. Returns without waiting for a leader; appends
   * wait for one.
   *
   * @param groupSigner the group's signing key; its name is the log origin and names the Raft group
   * @throws LedgerVerificationException if the stored log does not match its signed checkpoint
   * @throws LedgerUnavailableException if storage or the Raft server cannot start
   */
  public static RaftLedger open(RaftMemberConfig config, LedgerStorage storage, NoteSigner groupSigner,
      LedgerOptions options) throws LedgerUnavailableException, LedgerVerificationException {
    Objects.requireNonNull(config, "config");
    LedgerReplica replica = Ledgers.openReplica(storage, groupSigner, options);
    RaftLedger l = null;
    try {
      l = new RaftLedger(config, replica, groupSigner.verifier(), options);
      l.server.start();
      l.proposer.start();
    } catch (IOException | RuntimeException e) {
      if (l != null) {
        l.close();
      } else {
        replica.close();
      }
      throw new LedgerUnavailableException("cannot start Raft member " + config.memberId() + ": " + e.getMessage(),
          e);
    }
    if (config.tls() == null) {
      log.warn("ledger {} member {}: Raft port {} is plaintext and unauthenticated (no TLS configured); anyone who "
          + "can reach it can take part in the group", groupSigner.name(), config.memberId(), config.port());
    }
    log.info("ledger {} member {} started on port {} with peers {}{}", groupSigner.name(), config.memberId(),
        config.port(), config.peers().keySet(), config.tls() == null ? ""
            : " over mutual TLS (" + config.tls().pinned().size() + " pinned member certificates)");
    return l;
  }

  /** The Raft group of the log named {@code origin}: its id is derived from the origin, so all members agree. */
  static RaftGroup group(String origin, Map<String, String> peers) {
    List<RaftPeer> list = new ArrayList<>();
    peers.forEach((id, address) -> list.add(RaftPeer.newBuilder().setId(id).setAddress(address).build()));
    UUID uuid = UUID.nameUUIDFromBytes(("fhir-ledger-raft:" + origin).getBytes(StandardCharsets.UTF_8));
    return RaftGroup.valueOf(RaftGroupId.valueOf(uuid), list);
  }

  private static RaftProperties serverProperties(RaftMemberConfig config, Path raftDir) {
    RaftProperties p = new RaftProperties();
    RaftServerConfigKeys.setStorageDir(p, List.of(raftDir.toFile()));
    GrpcConfigKeys.Server.setPort(p, config.port());
    long min = config.electionTimeout().toMillis();
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, TimeDuration.valueOf(min, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, TimeDuration.valueOf(2 * min, TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(Math.max(3000, 3 * min),
        TimeUnit.MILLISECONDS));
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, config.snapshotEvery());
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setPurgeGap(p, (int) Math.min(Integer.MAX_VALUE, Math.max(1, config.snapshotEvery() / 2)));
    // Small segments so that purging after a snapshot actually frees (closed) segments.
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(config.logSegmentBytes()));
    // Ratis needs its write buffer >= the appender's byte limit + 8; both fit in a segment.
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(appenderBytes(config)));
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(appenderBytes(config) + 1024));
    // The state is the JDBC log: a far-behind member copies batches from the leader itself (see the state machine).
    RaftServerConfigKeys.Log.Appender.setInstallSnapshotEnabled(p, false);
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("64MB"));
    return p;
  }

  /** Bytes of log entries per append RPC: 4 MiB, or a quarter of a small segment. */
  private static long appenderBytes(RaftMemberConfig config) {
    return Math.min(4L << 20, config.logSegmentBytes() / 4);
  }

  private static RaftProperties clientProperties(RaftMemberConfig config) {
    RaftProperties p = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(
        Math.max(3000, 3 * config.electionTimeout().toMillis()), TimeUnit.MILLISECONDS));
    RaftClientConfigKeys.Async.setOutstandingRequestsMax(p, Math.max(2, config.maxInFlight() * 2));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf("64MB"));
    return p;
  }

  @Override
  public CompletableFuture<AppendResult> appendAsync(byte[] entry) {
    Objects.requireNonNull(entry, "entry");
    if (entry.length > 0xFFFF) {
      throw new IllegalArgumentException("entry of " + entry.length + " bytes exceeds the 65535-byte limit");
    }
    CompletableFuture<AppendResult> f = new CompletableFuture<>();
    if (closed) {
      f.completeExceptionally(new LedgerUnavailableException("the ledger member is closed"));
      return f;
    }
    Pending p = new Pending(entry.clone(), f);
    queue.add(p);
    if (closed && queue.remove(p)) {
      f.completeExceptionally(new LedgerUnavailableException("the ledger member is closed"));
    }
    return f;
  }

  private void propose() {
    List<Pending> batch = new ArrayList<>();
    while (!closed) {
      try {
        inFlight.acquire();
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          inFlight.release();
          continue;
        }
        batch.add(first);
        long bytes = first.data().length + 2;
        Pending p;
        while (batch.size() < maxBatch && (p = queue.peek()) != null && bytes + p.data().length + 2 <= maxBatchBytes) {
          batch.add(queue.poll());
          bytes += p.data().length + 2;
        }
      } catch (InterruptedException e) {
        break;
      }
      List<Pending> sent = List.copyOf(batch);
      batch.clear();
      send(sent);
    }
    List<Pending> rest = new ArrayList<>();
    queue.drainTo(rest);
    fail(rest, new LedgerUnavailableException("the ledger member is closed"));
  }

  private void send(List<Pending> batch) {
    List<byte[]> entries = new ArrayList<>(batch.size());
    for (Pending p : batch) {
      entries.add(p.data());
    }
    CompletableFuture<RaftClientReply> sent;
    try {
      sent = client.async().send(Messages.batch(entries));
    } catch (RuntimeException e) {
      inFlight.release();
      fail(batch, new LedgerUnavailableException("could not propose the batch: " + e.getMessage(), e));
      return;
    }
    sent.whenComplete((reply, error) -> {
      inFlight.release();
      if (error != null || !reply.isSuccess()) {
        Throwable cause = error != null ? error : reply.getException();
        fail(batch, new LedgerUnavailableException("the batch was not committed by a majority of the group: "
            + cause, cause));
        return;
      }
      Checkpoint cp;
      long first;
      try {
        Messages.Committed c = Messages.readCommitted(reply.getMessage().getContent());
        cp = Checkpoints.open(c.checkpointNote(), verifier);
        first = c.firstIndex();
        if (first + batch.size() > cp.size()) {
          throw new LedgerVerificationException("reply places " + batch.size() + " entries at " + first
              + " beyond its checkpoint of size " + cp.size());
        }
      } catch (LedgerVerificationException | RuntimeException e) {
        fail(batch, new LedgerUnavailableException("the leader's reply does not verify: " + e.getMessage(), e));
        return;
      }
      stateMachine.awaitSize(cp.size()).whenComplete((ok, notApplied) -> {
        if (notApplied != null) {
          fail(batch, new LedgerUnavailableException("committed, but this member stopped before applying it: "
              + notApplied.getMessage(), notApplied));
          return;
        }
        for (int i = 0; i < batch.size(); i++) {
          batch.get(i).future().complete(new AppendResult(first + i, cp));
        }
      });
    });
  }

  private static void fail(List<Pending> pending, LedgerUnavailableException e) {
    for (Pending p : pending) {
      p.future().completeExceptionally(e);
    }
  }

  /** This member's id. */
  public String memberId() {
    return config.memberId();
  }

  /** The current leader's member id as this member knows it, if any. */
  public Optional<String> leaderId() {
    try {
      RaftPeerId id = server.getDivision(group.getGroupId()).getInfo().getLeaderId();
      return Optional.ofNullable(id).map(RaftPeerId::toString);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Whether this member is the leader and ready to serve. */
  public boolean isLeader() {
    try {
      return server.getDivision(group.getGroupId()).getInfo().isLeaderReady();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Asks the group to make {@code memberId} its leader (for planned maintenance: drain a member before stopping it).
   *
   * @throws LedgerUnavailableException if the transfer did not complete within {@code timeoutMillis}
   */
  public void transferLeadership(String memberId, long timeoutMillis) throws LedgerUnavailableException {
    try {
      RaftClientReply r = client.admin().transferLeadership(RaftPeerId.valueOf(memberId), timeoutMillis);
      if (!r.isSuccess()) {
        throw new LedgerUnavailableException("leadership transfer to " + memberId + " failed: " + r.getException());
      }
    } catch (IOException e) {
      throw new LedgerUnavailableException("leadership transfer to " + memberId + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Takes a snapshot on this member now (Raft may then purge its log up to it).
   *
   * @return the log index Ratis reports in its reply
   */
  public long snapshotNow(long timeoutMillis) throws LedgerUnavailableException {
    try {
      RaftClientReply r = client.getSnapshotManagementApi(RaftPeerId.valueOf(config.memberId()))
          .create(timeoutMillis);
      if (!r.isSuccess()) {
        throw new LedgerUnavailableException("snapshot failed: " + r.getException());
      }
      return r.getLogIndex();
    } catch (IOException e) {
      throw new LedgerUnavailableException("snapshot failed: " + e.getMessage(), e);
    }
  }

  /** The Raft index this member applied last (batches, configuration and leader entries alike). */
  long appliedRaftIndex() {
    var ti = stateMachine.getLastAppliedTermIndex();
    return ti == null ? -1 : ti.getIndex();
  }

  /**
   * The first index still in this member's Raft log: entries before it were purged after a snapshot (purging runs
   * in the background, after the snapshot is taken).
   */
  long raftLogStartIndex() {
    try {
      return server.getDivision(group.getGroupId()).getRaftLog().getStartIndex();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** The Raft index of the last batch in this member's log. */
  long appliedBatchIndex() {
    return replica.appliedPosition().index();
  }

  /** How often this member caught up by copying batches from the leader because the Raft log it missed was purged. */
  public int catchUpsFromLeader() {
    return stateMachine.installsFromLeader();
  }

  @Override
  public Checkpoint latestCheckpoint() {
    return reader.latestCheckpoint();
  }

  @Override
  public NoteVerifier verifier() {
    return verifier;
  }

  @Override
  public InclusionProof inclusionProof(long index, long treeSize) throws LedgerUnavailableException {
    return reader.inclusionProof(index, treeSize);
  }

  @Override
  public ConsistencyProof consistencyProof(long size1, long size2) throws LedgerUnavailableException {
    return reader.consistencyProof(size1, size2);
  }

  @Override
  public List<LedgerEntry> entries(long from, long to) throws LedgerUnavailableException {
    return reader.entries(from, to);
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    return reader.tile(level, index, width);
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return reader.entryBundle(index, width);
  }

  /** Leaves the group (the others continue while they are a majority), fails pending appends, closes storage. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    proposer.interrupt();
    try {
      proposer.join(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    List<Pending> rest = new ArrayList<>();
    queue.drainTo(rest);
    fail(rest, new LedgerUnavailableException("the ledger member is closed"));
    try {
      client.close();
    } catch (IOException | RuntimeException e) {
      log.warn("closing the Raft client: {}", e.getMessage());
    }
    try {
      server.close();
    } catch (IOException | RuntimeException e) {
      log.warn("closing the Raft server: {}", e.getMessage());
    }
    stateMachine.failWaiters(new LedgerUnavailableException("the ledger member is closed"));
    replica.close();
  }
}
