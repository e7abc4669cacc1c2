package org.fhirledger.ledger.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.raft.Members.Member;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.fhirledger.ledger.witness.CheckpointCosigning;
import org.fhirledger.ledger.witness.CosignaturePolicy;
import org.fhirledger.ledger.witness.Cosigner;
import org.fhirledger.ledger.witness.JdbcWitnessStore;
import org.fhirledger.ledger.witness.Witness;
import org.fhirledger.ledger.witness.WitnessClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three members, each also a witness (its own cosigning key, state in its own database) for the group's log as the
 * other members serve it. One member then rewrites an entry in its database: the verifier (against a checkpoint
 * cosigned by 2 of 3 witnesses) and the witnesses (offered the rewritten log's re-signed checkpoint) detect it.
 */
class WitnessedGroupTest {
  private static final Duration WAIT = Duration.ofSeconds(90);
  private static final int ALTERED = 10;

  @TempDir
  Path tmp;

  @Test
  void rewriteEntry_memberRewritesOneEntryInItsDatabase_detectedByVerifierAndByWitnesses() throws Exception {
    NoteSigner group = NoteSigner.generate("raft.witness.test.example/ledger", new SecureRandom());
    Map<String, String> peers = Members.peers(List.of("a", "b", "c"));
    List<Member> members = new ArrayList<>();
    List<Witness> witnesses = new ArrayList<>();
    try {
      for (String id : peers.keySet()) {
        Member m = Members.start(Members.config(id, peers, tmp), group, 64);
        members.add(m);
        witnesses.add(new Witness(Cosigner.generate("witness." + id + ".test.example", new SecureRandom()),
            List.of(group.verifier()), new JdbcWitnessStore(m.storage().dataSource()), Clock.systemUTC()));
      }
      CosignaturePolicy twoOfThree = new CosignaturePolicy(witnesses.stream().map(Witness::verifier).toList(), 2);
      Members.await("a leader", WAIT, () -> members.stream().anyMatch(m -> m.ledger().isLeader()));
      List<java.util.concurrent.CompletableFuture<?>> appended = new ArrayList<>();
      for (int i = 0; i < 300; i++) {
        appended.add(members.get(i % 3).ledger().appendAsync(Members.entry("witnessed", i % 3, i, 120)));
      }
      for (var f : appended) {
        f.get();
      }
      long size = members.stream().mapToLong(m -> m.ledger().latestCheckpoint().size()).max().orElseThrow();
      Members.await("identical members", WAIT, () -> members.stream()
          .allMatch(m -> m.ledger().latestCheckpoint().size() == size));

      // every member has its checkpoint cosigned by the two other members' witnesses
      String cosigned = null;
      for (int i = 0; i < 3; i++) {
        List<WitnessClient> others = new ArrayList<>();
        for (int j = 0; j < 3; j++) {
          if (j != i) {
            others.add(WitnessClient.of(witnesses.get(j)));
          }
        }
        String note = new CheckpointCosigning(members.get(i).ledger(), others).cosignLatest();
        assertEquals(2, twoOfThree.verify(note).size(), "member " + i + ": " + note);
        cosigned = note;
      }

      // member c goes rogue: it stops and rewrites entry 10 in its own database
      Member c = members.remove(2);
      c.close();
      Path cLedger = tmp.resolve("c").resolve("ledger");
      try (JdbcLedgerStorage db = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(cLedger), Clock.systemUTC())) {
        rewriteEntry(db, ALTERED);
        LogVerifier verifier = new LogVerifier(group.verifier());
        String witnessed = cosigned;
        LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
            () -> verifier.verifyWitnessed(new JdbcLogSource(db), witnessed, twoOfThree));
        assertTrue(e.getMessage().contains("entry altered: entry " + ALTERED), e.getMessage());
        // an honest member still verifies against the same cosigned checkpoint
        verifier.verifyWitnessed(new JdbcLogSource(members.get(0).storage()), witnessed, twoOfThree);

        // c holds the group key, so it can re-sign a consistent tree over the rewritten entries; the witnesses
        // that cosigned the true tree refuse it and keep it as evidence, and it gathers no cosignature
        List<byte[]> rewritten = new ArrayList<>();
        for (long i = 0; i < size; i += 4096) {
          for (byte[] b : db.entries(i, Math.min(size, i + 4096))) {
            rewritten.add(b);
          }
        }
        JdbcLedgerStorage forgedDb = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(tmp.resolve("forged")),
            Clock.systemUTC());
        try (Ledger forged = Ledgers.open(forgedDb, group, LedgerOptions.defaults().withMaxBatchSize(65536))) {
          List<java.util.concurrent.CompletableFuture<?>> done = new ArrayList<>();
          for (byte[] b : rewritten) {
            done.add(forged.appendAsync(b));
          }
          for (var f : done) {
            f.get();
          }
          Checkpoint forgedCp = forged.latestCheckpoint();
          assertEquals(size, forgedCp.size());
          List<WitnessClient> ab = List.of(WitnessClient.of(witnesses.get(0)), WitnessClient.of(witnesses.get(1)));
          CheckpointCosigning rogue = new CheckpointCosigning(forged, ab);
          String note = rogue.cosignLatest();
          assertTrue(rogue.lastRound().stream().allMatch(o -> o.status() == 409), rogue.lastRound().toString());
          assertThrows(LedgerVerificationException.class, () -> twoOfThree.verify(note));
          LedgerVerificationException fork = assertThrows(LedgerVerificationException.class,
              () -> verifier.verifyWitnessed(new JdbcLogSource(forgedDb), witnessed, twoOfThree));
          assertTrue(fork.getMessage().contains("forked or rewritten"), fork.getMessage());

          // growing the rewritten log does not help: its consistency proof does not match the cosigned root
          forged.append(Members.entry("rogue", 0, 0, 120));
          rogue.cosignLatest();
          assertTrue(rogue.lastRound().stream().allMatch(o -> o.status() == 422), rogue.lastRound().toString());
          for (Witness w : witnesses.subList(0, 2)) {
            assertEquals(2, w.evidence(group.name()).size(), "evidence kept by " + w.verifier().name());
            assertEquals(size, w.latest(group.name()).orElseThrow().size(), "the witness did not move");
          }
        }
      }
      assertFalse(cosigned.isEmpty());
    } finally {
      members.forEach(Member::close);
    }
  }

  /** Replaces one character of entry {@code index} in the batch row that holds it, as a rogue operator would. */
  private static void rewriteEntry(JdbcLedgerStorage db, long index) throws Exception {
    try (Connection c = db.dataSource().getConnection()) {
      long first;
      int count;
      byte[] data;
      try (PreparedStatement q = c.prepareStatement("SELECT first_idx, entry_count, data FROM ledger_entries "
          + "WHERE first_idx <= ? ORDER BY first_idx DESC LIMIT 1")) {
        q.setLong(1, index);
        try (ResultSet rs = q.executeQuery()) {
          assertTrue(rs.next());
          first = rs.getLong(1);
          count = rs.getInt(2);
          data = rs.getBytes(3);
        }
      }
      List<byte[]> entries = new ArrayList<>(EntryBundles.decode(data, count, "row " + first));
      byte[] e = entries.get((int) (index - first)).clone();
      e[e.length - 1] = (byte) (e[e.length - 1] == 'X' ? 'Y' : 'X');
      entries.set((int) (index - first), e);
      try (PreparedStatement up = c.prepareStatement("UPDATE ledger_entries SET data = ? WHERE first_idx = ?")) {
        up.setBytes(1, EntryBundles.encode(entries));
        up.setLong(2, first);
        assertEquals(1, up.executeUpdate());
      }
    }
    assertTrue(new String(db.entries(index, index + 1).get(0), StandardCharsets.UTF_8).startsWith("synthetic"));
  }
}
