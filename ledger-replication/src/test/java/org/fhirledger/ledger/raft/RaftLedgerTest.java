package org.fhirledger.ledger.raft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.raft.Members.Member;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three members of one Raft group on loopback, each with its own H2 log: leader failover with the leader's process
 * killed, a member that was down catching up, and a member catching up after the group purged its Raft log.
 */
class RaftLedgerTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @TempDir
  Path tmp;

  record Ack(long index, byte[] entry) {}

  @Test
  void append_leaderProcessKilledUnderConcurrentAppends_newLeaderTakesOverAndNoAcknowledgedEntryIsLost()
      throws Exception {
    NoteSigner group = NoteSigner.generate("raft.test.example/ledger", new SecureRandom());
    Path key = tmp.resolve("group.key");
    Files.writeString(key, group.skey());
    Map<String, String> peers = Members.peers(List.of("a", "b", "c"));
    Process a = startChild("a", peers, key);
    List<Member> members = new ArrayList<>();
    try {
      Member b = Members.start(Members.config("b", peers, tmp), group, 1024);
      members.add(b);
      Member c = Members.start(Members.config("c", peers, tmp), group, 1024);
      members.add(c);
      Members.await("a leader", WAIT, () -> b.ledger().leaderId().isPresent());
      if (!b.ledger().leaderId().orElseThrow().equals("a")) {
        b.ledger().transferLeadership("a", 20_000);
      }
      Members.await("a as leader", WAIT, () -> b.ledger().leaderId().orElse("").equals("a")
          && c.ledger().leaderId().orElse("").equals("a"));

      ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
      AtomicInteger acked = new AtomicInteger();
      AtomicInteger failed = new AtomicInteger();
      AtomicBoolean stop = new AtomicBoolean();
      List<Thread> appenders = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        int thread = t;
        RaftLedger via = (t % 2 == 0 ? b : c).ledger();
        appenders.add(Thread.ofPlatform().start(() -> {
          for (long seq = 0; !stop.get(); seq++) {
            byte[] e = Members.entry("kill", thread, seq, 200);
            try {
              acks.add(new Ack(via.append(e).index(), e));
              acked.incrementAndGet();
            } catch (LedgerUnavailableException ex) {
              failed.incrementAndGet();
            } catch (InterruptedException ex) {
              return;
            }
          }
        }));
      }
      Members.await("500 acknowledged appends through leader a", WAIT, () -> acked.get() >= 500);
      a.destroyForcibly();
      assertTrue(a.waitFor(30, TimeUnit.SECONDS), "the leader's process did not die");
      int atKill = acked.get();
      Members.await("a new leader", WAIT, () -> b.ledger().leaderId().filter(l -> !l.equals("a")).isPresent());
      Members.await("1000 more acknowledged appends after the kill", WAIT, () -> acked.get() >= atKill + 1000);
      String newLeader = b.ledger().leaderId().orElseThrow();
      assertNotEquals("a", newLeader);
      stop.set(true);
      for (Thread t : appenders) {
        t.join(WAIT.toMillis());
      }
      System.out.println("acknowledged " + acked.get() + " (" + atKill + " before the kill), failed " + failed.get()
          + ", new leader " + newLeader);

      // the killed member comes back on its own database and catches up with what it missed
      Member a2 = Members.start(Members.config("a", peers, tmp), group, 1024);
      members.add(a2);
      long size = b.ledger().latestCheckpoint().size();
      Members.await("every member at tree size " + size, WAIT, () -> members.stream()
          .allMatch(m -> m.ledger().latestCheckpoint().size() == size));

      assertIdentical(members, group);
      for (Member m : members) {
        for (Ack ack : acks) {
          assertArrayEquals(ack.entry(), m.ledger().entries(ack.index(), ack.index() + 1).get(0).data(),
              "member " + m.ledger().memberId() + ": acknowledged entry " + ack.index() + " is not in its log");
        }
      }
      assertNoDuplicates(b.ledger(), size);
    } finally {
      a.destroyForcibly();
      members.forEach(Member::close);
    }
  }

  @Test
  void restart_memberBehindPurgedRaftLog_catchesUpFromLeaderWithIdenticalCheckpoints() throws Exception {
    NoteSigner group = NoteSigner.generate("raft.snapshot.test.example/ledger", new SecureRandom());
    Map<String, String> peers = Members.peers(List.of("a", "b", "c"));
    List<Member> members = new ArrayList<>();
    try {
      for (String id : peers.keySet()) {
        members.add(Members.start(small(Members.config(id, peers, tmp)), group, 4));
      }
      Members.await("a leader", WAIT, () -> members.get(0).ledger().leaderId().isPresent()
          && members.stream().anyMatch(m -> m.ledger().isLeader()));
      Member leader = members.stream().filter(m -> m.ledger().isLeader()).findFirst().orElseThrow();
      Member down = members.stream().filter(m -> m != leader).findFirst().orElseThrow();
      String downId = down.ledger().memberId();
      appendConcurrently(leader.ledger(), "before", 200);
      long downApplied = down.ledger().appliedRaftIndex();
      down.close();
      members.remove(down);

      appendConcurrently(leader.ledger(), "while-down", 1200);
      for (Member m : members) {
        m.ledger().snapshotNow(30_000);
      }
      appendConcurrently(leader.ledger(), "after-snapshot", 100);
      // Ratis purges in the background after a snapshot: restart the member only once no running member holds the
      // entries it missed (leadership may move under load), so that it must catch up rather than replay the log.
      Members.await("every running member's Raft log purged past the down member's last entry", WAIT,
          () -> members.stream().allMatch(m -> m.ledger().raftLogStartIndex() > downApplied + 1));

      Member back = Members.start(small(Members.config(downId, peers, tmp)), group, 4);
      members.add(back);
      long size = leader.ledger().latestCheckpoint().size();
      Members.await("the restarted member at tree size " + size, WAIT,
          () -> back.ledger().latestCheckpoint().size() >= size);
      assertTrue(back.ledger().catchUpsFromLeader() >= 1,
          "the restarted member replayed the Raft log instead of catching up from the leader: it was not purged");

      appendConcurrently(leader.ledger(), "after-catch-up", 100);
      long end = leader.ledger().latestCheckpoint().size();
      Members.await("every member at tree size " + end, WAIT, () -> members.stream()
          .allMatch(m -> m.ledger().latestCheckpoint().size() == end));
      assertIdentical(members, group);
      assertNoDuplicates(back.ledger(), end);
    } finally {
      members.forEach(Member::close);
    }
  }

  @Test
  void restart_afterSnapshotPastTheLastBatch_memberStartsAndStaysIdentical() throws Exception {
    NoteSigner group = NoteSigner.generate("raft.restart.test.example/ledger", new SecureRandom());
    Map<String, String> peers = Members.peers(List.of("a", "b", "c"));
    List<Member> members = new ArrayList<>();
    try {
      for (String id : peers.keySet()) {
        members.add(Members.start(Members.config(id, peers, tmp), group, 64));
      }
      Members.await("a leader", WAIT, () -> members.stream().anyMatch(m -> m.ledger().isLeader()));
      appendConcurrently(members.get(0).ledger(), "before", 100);
      // a new leader appends its own (non-batch) entry: the next snapshot is at a Raft index past the last batch
      Member follower = members.stream().filter(m -> !m.ledger().isLeader()).findFirst().orElseThrow();
      follower.ledger().transferLeadership(follower.ledger().memberId(), 20_000);
      Members.await("the new leader", WAIT, () -> follower.ledger().isLeader());
      Member restarted = members.stream().filter(m -> m != follower).findFirst().orElseThrow();
      Members.await("the new leader's own entry applied", WAIT,
          () -> restarted.ledger().appliedRaftIndex() > restarted.ledger().appliedBatchIndex());
      restarted.ledger().snapshotNow(30_000);
      restarted.close();
      members.remove(restarted);

      Member back = Members.start(Members.config(restarted.ledger().memberId(), peers, tmp), group, 64);
      members.add(back);
      appendConcurrently(follower.ledger(), "after", 100);
      long size = follower.ledger().latestCheckpoint().size();
      Members.await("every member at tree size " + size, WAIT, () -> members.stream()
          .allMatch(m -> m.ledger().latestCheckpoint().size() == size));
      assertIdentical(members, group);
    } finally {
      members.forEach(Member::close);
    }
  }

  private static RaftMemberConfig small(RaftMemberConfig c) {
    return c.withSnapshotEvery(50).withLogSegmentBytes(64 * 1024);
  }

  private static void appendConcurrently(RaftLedger via, String what, int count) throws Exception {
    AtomicInteger next = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    for (int t = 0; t < 16; t++) {
      int thread = t;
      threads.add(Thread.ofPlatform().start(() -> {
        for (int i; (i = next.getAndIncrement()) < count; ) {
          try {
            via.append(Members.entry(what, thread, i, 200));
          } catch (Exception e) {
            errors.add(e);
            return;
          }
        }
      }));
    }
    for (Thread t : threads) {
      t.join(WAIT.toMillis());
    }
    assertTrue(errors.isEmpty(), "appends failed: " + errors);
  }

  /** Same latest checkpoint (byte for byte), same batch boundaries, and every member's database verifies. */
  private static void assertIdentical(List<Member> members, NoteSigner group) throws Exception {
    Checkpoint first = members.get(0).ledger().latestCheckpoint();
    List<Long> boundaries = members.get(0).storage().checkpointSizes(0, first.size(), 1_000_000);
    for (Member m : members) {
      Checkpoint cp = m.ledger().latestCheckpoint();
      assertEquals(first.signedNote(), cp.signedNote(), "member " + m.ledger().memberId() + " has another checkpoint");
      assertArrayEquals(first.rootHash(), cp.rootHash());
      assertEquals(boundaries, m.storage().checkpointSizes(0, first.size(), 1_000_000),
          "member " + m.ledger().memberId() + " has other batch boundaries");
      new LogVerifier(group.verifier()).verifyHistory(new JdbcLogSource(m.storage()));
    }
  }

  private static void assertNoDuplicates(RaftLedger ledger, long size) throws Exception {
    Set<String> seen = new HashSet<>();
    for (long i = 0; i < size; i += 4096) {
      for (LedgerEntry e : ledger.entries(i, Math.min(size, i + 4096))) {
        String s = new String(e.data(), StandardCharsets.UTF_8);
        assertTrue(seen.add(s), "entry " + e.index() + " appears twice in the log");
      }
    }
  }

  private Process startChild(String id, Map<String, String> peers, Path key) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String peerArg = peers.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
        .collect(Collectors.joining(","));
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), MemberProcess.class.getName(), id, peerArg, tmp.toString(),
        key.toString());
    pb.redirectError(tmp.resolve("member-" + id + ".err").toFile());
    Process p = pb.start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.equals("READY")) {
      // skip anything the child prints before it is ready
    }
    if (line == null) {
      throw new AssertionError("member " + id + " exited before it was ready; see " + tmp.resolve("member-" + id
          + ".err") + ":\n" + Files.readString(tmp.resolve("member-" + id + ".err")));
    }
    return p;
  }
}
