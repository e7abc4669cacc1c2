package org.fhirledger.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.LedgerStorage.ConsensusPosition;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A replica applies exactly the batches it is given, records their consensus position durably, and verifies. */
class LedgerReplicaTest {
  @TempDir
  Path tmp;

  private final NoteSigner signer = NoteSigner.generate("replica.test.example/ledger", new SecureRandom());

  @Test
  void apply_threeBatches_oneCheckpointEachAndPositionSurvivesReopen() throws Exception {
    try (LedgerReplica r = open("a")) {
      assertEquals(ConsensusPosition.NONE, r.appliedPosition());
      r.apply(entries("x", 3), new ConsensusPosition(1, 5));
      r.apply(entries("y", 300), new ConsensusPosition(1, 6));
      r.apply(List.of(), new ConsensusPosition(2, 9));
      Checkpoint cp = r.apply(entries("z", 1), new ConsensusPosition(2, 10));
      assertEquals(304, cp.size());
      assertEquals(List.of(3L, 303L, 304L), r.batchEnds(0, 100));
      assertEquals(List.of(304L), r.batchEnds(303, 100));
    }
    JdbcLedgerStorage storage = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(tmp.resolve("a")), Clock.systemUTC());
    try (LedgerReplica r = Ledgers.openReplica(storage, signer, LedgerOptions.defaults())) {
      assertEquals(new ConsensusPosition(2, 10), r.appliedPosition());
      new LogVerifier(signer.verifier()).verifyHistory(new JdbcLogSource(storage));
      assertArrayEquals(entries("y", 300).get(7), r.reader().entries(10, 11).get(0).data());
    }
  }

  @Test
  void apply_sameBatchesOnTwoReplicas_byteIdenticalCheckpoints() throws Exception {
    try (LedgerReplica a = open("a"); LedgerReplica b = open("b")) {
      for (int i = 0; i < 5; i++) {
        ConsensusPosition p = new ConsensusPosition(1, i + 1);
        assertEquals(a.apply(entries("batch" + i, 10 + i), p), b.apply(entries("batch" + i, 10 + i), p));
      }
    }
  }

  @Test
  void apply_positionBeforeApplied_refused() throws Exception {
    try (LedgerReplica r = open("a")) {
      r.apply(entries("x", 1), new ConsensusPosition(3, 7));
      assertThrows(IllegalArgumentException.class, () -> r.apply(entries("y", 1), new ConsensusPosition(3, 6)));
      assertThrows(UnsupportedOperationException.class, () -> r.reader().appendAsync(new byte[1]));
      assertEquals(1, r.reader().latestCheckpoint().size());
    }
  }

  private LedgerReplica open(String dir) throws Exception {
    return Ledgers.openReplica(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(tmp.resolve(dir)), Clock.systemUTC()),
        signer, LedgerOptions.defaults());
  }

  private static List<byte[]> entries(String prefix, int n) {
    List<byte[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(("synthetic " + prefix + " " + i).getBytes(StandardCharsets.UTF_8));
    }
    return out;
  }
}
