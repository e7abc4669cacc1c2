package org.fhirledger.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import javax.sql.DataSource;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.merkle.ReferenceTree;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every storage backend must do; subclasses supply a real database. */
abstract class LedgerContractTest {
  static final String ORIGIN = "ledger.test.example/log";
  static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

  abstract TestDatabase database();

  String url;
  NoteSigner signer;

  @BeforeEach
  void freshDatabase() throws Exception {
    url = database().freshUrl();
    signer = NoteSigner.generate(ORIGIN, new SecureRandom());
  }

  Ledger open(LedgerOptions options) throws LedgerException {
    return Ledgers.open(JdbcLedgerStorage.open(TestDatabase.dataSource(url), CLOCK), signer, options);
  }

  Ledger open() throws LedgerException {
    return open(LedgerOptions.defaults().withClock(CLOCK));
  }

  static byte[] entry(int i) {
    return ("entry number " + i + " " + "x".repeat(i % 300)).getBytes(StandardCharsets.UTF_8);
  }

  JdbcLedgerStorage readOnlyStorage() throws LedgerUnavailableException {
    return JdbcLedgerStorage.open(TestDatabase.dataSource(url), CLOCK);
  }

  void verifyWholeLog() throws Exception {
    try (JdbcLedgerStorage s = readOnlyStorage()) {
      new LogVerifier(signer.verifier()).verifyHistory(new JdbcLogSource(s));
    }
  }

  String verifyExpectingFailure() throws Exception {
    try (JdbcLedgerStorage s = readOnlyStorage()) {
      LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
          () -> new LogVerifier(signer.verifier()).verifyHistory(new JdbcLogSource(s)));
      System.out.println(database().name() + " verifier says: " + e.getMessage());
      return e.getMessage();
    }
  }

  List<AppendResult> appendConcurrently(Ledger ledger, int count) throws Exception {
    List<CompletableFuture<AppendResult>> fs = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      fs.add(ledger.appendAsync(entry(i)));
    }
    List<AppendResult> out = new ArrayList<>();
    for (CompletableFuture<AppendResult> f : fs) {
      out.add(f.get());
    }
    return out;
  }

  @Test
  void open_emptyDatabase_signsCheckpointOfSizeZero() throws Exception {
    try (Ledger ledger = open()) {
      Checkpoint cp = ledger.latestCheckpoint();
      assertEquals(0, cp.size());
      assertEquals(ORIGIN, cp.origin());
      new LogVerifier(signer.verifier()).openCheckpoint(cp.signedNote());
    }
    verifyWholeLog();
  }

  @Test
  void append_oneEntry_isDurableAtIndexZero() throws Exception {
    try (Ledger ledger = open()) {
      AppendResult r = ledger.append(entry(0));
      assertEquals(0, r.index());
      assertEquals(1, r.checkpoint().size());
      assertEquals(r.checkpoint(), ledger.latestCheckpoint());
    }
    try (Ledger again = open()) {
      assertArrayEquals(entry(0), again.entries(0, 1).get(0).data());
    }
  }

  @Test
  void appendAsync_manyConcurrent_groupCommitsIntoFewerCheckpointsWithDistinctIndexes() throws Exception {
    int n = 1500;
    try (Ledger ledger = open()) {
      List<AppendResult> results = appendConcurrently(ledger, n);
      Set<Long> indexes = new HashSet<>();
      Set<Long> checkpoints = new HashSet<>();
      for (AppendResult r : results) {
        indexes.add(r.index());
        checkpoints.add(r.checkpoint().size());
      }
      assertEquals(n, indexes.size());
      assertTrue(checkpoints.size() < n, "expected batching, got " + checkpoints.size() + " checkpoints");
      List<LedgerEntry> stored = new ArrayList<>();
      for (long from = 0; from < n; from += 1000) {
        stored.addAll(ledger.entries(from, Math.min(n, from + 1000)));
      }
      for (int i = 0; i < n; i++) {
        assertArrayEquals(entry(i), stored.get((int) results.get(i).index()).data());
      }
    }
    verifyWholeLog();
  }

  @Test
  void latestCheckpoint_afterAppends_hasTheReferenceTreeRoot() throws Exception {
    ReferenceTree ref = new ReferenceTree();
    try (Ledger ledger = open(LedgerOptions.defaults().withClock(CLOCK).withMaxBatchSize(7))) {
      for (int i = 0; i < 700; i++) {
        ref.add(entry(i));
      }
      List<CompletableFuture<AppendResult>> fs = new ArrayList<>();
      for (int i = 0; i < 700; i++) {
        fs.add(ledger.appendAsync(entry(i)));
      }
      for (CompletableFuture<AppendResult> f : fs) {
        AppendResult r = f.get();
        assertArrayEquals(ref.root((int) r.checkpoint().size()), r.checkpoint().rootHash());
      }
    }
  }

  @Test
  void inclusionProof_everyEntryAtSeveralSizes_verifies() throws Exception {
    try (Ledger ledger = open(LedgerOptions.defaults().withClock(CLOCK).withMaxBatchSize(50))) {
      List<Checkpoint> seen = new ArrayList<>();
      for (int round = 0; round < 6; round++) {
        appendConcurrently(ledger, 117);
        seen.add(ledger.latestCheckpoint());
      }
      LogVerifier verifier = new LogVerifier(ledger.verifier());
      for (Checkpoint cp : seen) {
        List<LedgerEntry> entries = ledger.entries(0, cp.size());
        for (LedgerEntry e : entries) {
          verifier.verifyInclusion(cp, e.data(), ledger.inclusionProof(e.index(), cp.size()));
        }
      }
      Checkpoint last = seen.get(seen.size() - 1);
      InclusionProof p = ledger.inclusionProof(5, last.size());
      LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
          () -> verifier.verifyInclusion(last, entry(999_999), p));
      assertTrue(e.getMessage().contains("index 5"), e.getMessage());
    }
  }

  @Test
  void consistencyProof_betweenAnyTwoCheckpoints_verifies() throws Exception {
    try (Ledger ledger = open(LedgerOptions.defaults().withClock(CLOCK).withMaxBatchSize(64))) {
      List<Checkpoint> seen = new ArrayList<>();
      seen.add(ledger.latestCheckpoint());
      for (int round = 0; round < 8; round++) {
        appendConcurrently(ledger, 97 * round + 3);
        seen.add(ledger.latestCheckpoint());
      }
      LogVerifier verifier = new LogVerifier(ledger.verifier());
      for (Checkpoint a : seen) {
        for (Checkpoint b : seen) {
          if (a.size() <= b.size()) {
            verifier.verifyConsistency(a, b, ledger.consistencyProof(a.size(), b.size()));
          }
        }
      }
    }
  }

  @Test
  void open_afterClose_continuesTheSameLog() throws Exception {
    Checkpoint first;
    try (Ledger ledger = open()) {
      appendConcurrently(ledger, 300);
      first = ledger.latestCheckpoint();
    }
    try (Ledger ledger = open()) {
      assertEquals(first, ledger.latestCheckpoint());
      AppendResult r = ledger.append(entry(300));
      assertEquals(300, r.index());
      new LogVerifier(ledger.verifier()).verifyConsistency(first, r.checkpoint(),
          ledger.consistencyProof(first.size(), r.checkpoint().size()));
    }
    verifyWholeLog();
  }

  @Test
  void open_secondWriterOnSameDatabase_fencesTheFirst() throws Exception {
    Ledger first = open();
    try {
      first.append(entry(0));
      try (Ledger second = open()) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> first.appendAsync(entry(1)).get());
        assertInstanceOf(LedgerFencedException.class, e.getCause());
        assertThrows(LedgerFencedException.class, () -> first.append(entry(2)));
        AppendResult r = second.append(entry(3));
        assertEquals(1, r.index());
      }
    } finally {
      first.close();
    }
    verifyWholeLog();
  }

  @Test
  void open_twoWritersAppendingConcurrently_neverCorruptTheLog() throws Exception {
    Ledger a = open();
    Ledger b = open();
    try {
      List<CompletableFuture<AppendResult>> fs = new ArrayList<>();
      List<byte[]> data = new ArrayList<>();
      for (int i = 0; i < 400; i++) {
        byte[] d = ("writer " + (i % 2) + " entry " + i).getBytes(StandardCharsets.UTF_8);
        data.add(d);
        fs.add((i % 2 == 0 ? a : b).appendAsync(d));
      }
      List<AppendResult> acked = new ArrayList<>();
      List<byte[]> ackedData = new ArrayList<>();
      for (int i = 0; i < fs.size(); i++) {
        try {
          acked.add(fs.get(i).get());
          ackedData.add(data.get(i));
        } catch (ExecutionException e) {
          assertInstanceOf(LedgerUnavailableException.class, e.getCause());
        }
      }
      assertTrue(acked.size() >= 200, "the newer writer's appends must succeed");
      for (int i = 0; i < acked.size(); i++) {
        assertArrayEquals(ackedData.get(i), b.entries(acked.get(i).index(), acked.get(i).index() + 1).get(0).data());
      }
    } finally {
      a.close();
      b.close();
    }
    verifyWholeLog();
  }

  @Test
  void appendAsync_maxBatchDelay_batchesUpToMaxBatchSize() throws Exception {
    try (Ledger ledger = open(LedgerOptions.defaults().withClock(CLOCK).withMaxBatchSize(16)
        .withMaxBatchDelay(Duration.ofSeconds(5)))) {
      List<AppendResult> rs = appendConcurrently(ledger, 64);
      Set<Long> sizes = new HashSet<>();
      rs.forEach(r -> sizes.add(r.checkpoint().size()));
      assertTrue(sizes.stream().allMatch(s -> s % 16 == 0), "checkpoints at " + sizes);
    }
  }

  /**
   * A batch that fails to commit completes tile 0 (entries 250..259); the next batch puts other entries at the
   * same indices. Nothing hashed for the failed batch may reach a later root, tile or checkpoint.
   */
  @Test
  void append_afterACommitFailed_treeHoldsOnlyWhatWasCommitted() throws Exception {
    List<byte[]> committed = appendAroundAFailedCommit(FailingCommitStorage.Failure.BEFORE_COMMIT);
    assertEquals(260, committed.size());
    assertArrayEquals(entry(250), committed.get(250));
  }

  /** The failed batch did land: the writer must learn that from storage and continue after it. */
  @Test
  void append_afterACommitLandedButReportedFailed_continuesAfterIt() throws Exception {
    List<byte[]> committed = appendAroundAFailedCommit(FailingCommitStorage.Failure.AFTER_COMMIT);
    assertEquals(270, committed.size());
    assertArrayEquals(bytes("lost 0"), committed.get(250));
    assertArrayEquals(entry(250), committed.get(260));
  }

  /** Appends 250 entries, a batch of 10 that fails as told, then 10 more; returns the entries the log holds. */
  private List<byte[]> appendAroundAFailedCommit(FailingCommitStorage.Failure failure) throws Exception {
    FailingCommitStorage storage = new FailingCommitStorage(
        JdbcLedgerStorage.open(TestDatabase.dataSource(url), CLOCK));
    // batches of exactly 10: the failed batch is one batch, and so is the one after it
    LedgerOptions tens = LedgerOptions.defaults().withClock(CLOCK).withMaxBatchSize(10)
        .withMaxBatchDelay(Duration.ofSeconds(10));
    ReferenceTree ref = new ReferenceTree();
    List<byte[]> log;
    try (Ledger ledger = Ledgers.open(storage, signer, tens)) {
      appendConcurrently(ledger, 250);
      storage.failNextCommit(failure);
      List<CompletableFuture<AppendResult>> lost = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        lost.add(ledger.appendAsync(bytes("lost " + i)));
      }
      for (CompletableFuture<AppendResult> f : lost) {
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        assertInstanceOf(LedgerUnavailableException.class, e.getCause());
      }
      List<CompletableFuture<AppendResult>> next = new ArrayList<>();
      for (int i = 250; i < 260; i++) {
        next.add(ledger.appendAsync(entry(i)));
      }
      Checkpoint last = null;
      for (CompletableFuture<AppendResult> f : next) {
        last = f.get().checkpoint();
      }
      log = new ArrayList<>();
      for (LedgerEntry e : ledger.entries(0, last.size())) {
        log.add(e.data());
        ref.add(e.data());
      }
      assertArrayEquals(ref.root(ref.size()), last.rootHash(), "root of what the log holds");
      for (LedgerEntry e : ledger.entries(240, last.size())) {
        new LogVerifier(ledger.verifier()).verifyInclusion(last, e.data(), ledger.inclusionProof(e.index(),
            last.size()));
      }
    }
    verifyWholeLog();
    try (Ledger again = open()) {
      AppendResult r = again.append(entry(999));
      ref.add(entry(999));
      assertArrayEquals(ref.root(ref.size()), r.checkpoint().rootHash());
    }
    return log;
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void append_afterClose_fails() throws Exception {
    Ledger ledger = open();
    ledger.close();
    assertThrows(LedgerUnavailableException.class, () -> ledger.append(entry(0)));
  }

  @Test
  void append_entryOver65535Bytes_isRejected() throws Exception {
    try (Ledger ledger = open()) {
      assertThrows(IllegalArgumentException.class, () -> ledger.appendAsync(new byte[65536]));
    }
  }

  // ---- tampering: each changes one byte in the database; the verifier must name what is wrong ----

  private void update(String sql, Object... args) throws Exception {
    DataSource ds = TestDatabase.dataSource(url);
    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      assertEquals(1, ps.executeUpdate(), sql);
    }
  }

  private byte[] query(String sql, Object... args) throws Exception {
    DataSource ds = TestDatabase.dataSource(url);
    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = ps.executeQuery()) {
        assertTrue(rs.next(), sql);
        return rs.getBytes(1);
      }
    }
  }

  private void buildLog(int n) throws Exception {
    try (Ledger ledger = open(LedgerOptions.defaults().withClock(CLOCK).withMaxBatchSize(100))) {
      for (int i = 0; i < n; i += 100) {
        List<CompletableFuture<AppendResult>> fs = new ArrayList<>();
        for (int j = i; j < Math.min(n, i + 100); j++) {
          fs.add(ledger.appendAsync(entry(j)));
        }
        for (CompletableFuture<AppendResult> f : fs) {
          f.get();
        }
      }
    }
    verifyWholeLog();
  }

  @Test
  void verifyLog_oneEntryByteChanged_namesTheEntry() throws Exception {
    buildLog(600);
    // find the batch row holding entry 321 (batch boundaries depend on timing) and the offset of its payload
    long first;
    byte[] data;
    DataSource ds = TestDatabase.dataSource(url);
    try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
        "SELECT first_idx, data FROM ledger_entries WHERE first_idx <= 321 ORDER BY first_idx DESC LIMIT 1");
        ResultSet rs = ps.executeQuery()) {
      assertTrue(rs.next());
      first = rs.getLong(1);
      data = rs.getBytes(2);
    }
    int off = 0;
    for (long i = first; i < 321; i++) {
      off += 2 + entry((int) i).length;
    }
    data[off + 2 + 3] ^= 0x01;
    update("UPDATE ledger_entries SET data = ? WHERE first_idx = ?", data, first);
    String msg = verifyExpectingFailure();
    assertTrue(msg.contains("entry 321 "), msg);
    assertTrue(msg.contains("tile/entries/001"), msg);
  }

  @Test
  void verifyLog_oneTileHashByteChanged_namesTheTileAndHashes() throws Exception {
    buildLog(600);
    byte[] tile = query("SELECT hashes FROM ledger_tile WHERE tile_level = 0 AND tile_index = 1 AND width = 256");
    byte[] original = java.util.Arrays.copyOfRange(tile, 40 * 32, 41 * 32);
    tile[40 * 32 + 7] ^= 0x40;
    update("UPDATE ledger_tile SET hashes = ? WHERE tile_level = 0 AND tile_index = 1 AND width = 256", tile);
    String msg = verifyExpectingFailure();
    assertTrue(msg.contains("tile/0/001 position 40"), msg);
    assertTrue(msg.contains(org.fhirledger.ledger.merkle.Rfc6962.hex(original)), msg);
  }

  @Test
  void verifyLog_checkpointByteChanged_namesTheCheckpointSignature() throws Exception {
    buildLog(300);
    String note = new String(query("SELECT note FROM ledger_checkpoint WHERE tree_size = 300"),
        StandardCharsets.UTF_8);
    String tampered = note.replaceFirst("\n300\n", "\n301\n");
    update("UPDATE ledger_checkpoint SET note = ? WHERE tree_size = 300", tampered);
    String msg = verifyExpectingFailure();
    assertTrue(msg.contains("checkpoint") && msg.contains("does not verify"), msg);
  }

  @Test
  void verifyLog_olderCheckpointTampered_namesItsSize() throws Exception {
    buildLog(300);
    String note = new String(query("SELECT note FROM ledger_checkpoint WHERE tree_size = 100"),
        StandardCharsets.UTF_8);
    int sig = note.lastIndexOf(' ') + 10;
    char c = note.charAt(sig);
    String tampered = note.substring(0, sig) + (c == 'A' ? 'B' : 'A') + note.substring(sig + 1);
    update("UPDATE ledger_checkpoint SET note = ? WHERE tree_size = 100", tampered);
    String msg = verifyExpectingFailure();
    assertTrue(msg.contains("size 100"), msg);
  }

  @Test
  void open_tileTamperedBelowLatestCheckpoint_refusesToSign() throws Exception {
    buildLog(300);
    byte[] tile = query("SELECT hashes FROM ledger_tile WHERE tile_level = 0 AND tile_index = 1 AND width = 44");
    tile[3] ^= 1;
    update("UPDATE ledger_tile SET hashes = ? WHERE tile_level = 0 AND tile_index = 1 AND width = 44", tile);
    LedgerVerificationException e = assertThrows(LedgerVerificationException.class, this::open);
    assertTrue(e.getMessage().contains("refusing to sign"), e.getMessage());
  }

  // ---- pseudonyms: secrets live off-ledger in the same database ----

  @Test
  void pseudonymFor_samePatient_isStableAndDiffersBetweenPatients() throws Exception {
    var store = org.fhirledger.ledger.jdbc.JdbcPatientSecretStore.open(TestDatabase.dataSource(url), CLOCK,
        new SecureRandom());
    var p = new org.fhirledger.ledger.entry.Pseudonymizer(store);
    assertEquals(p.pseudonymFor("Patient/1"), p.pseudonymFor("Patient/1"));
    assertTrue(!p.pseudonymFor("Patient/1").equals(p.pseudonymFor("Patient/2")));
    assertEquals(p.pseudonymFor("Patient/1"), p.existingPseudonym("Patient/1").orElseThrow());
  }

  @Test
  void erase_patientSecret_makesOldPseudonymUnlinkable() throws Exception {
    var store = org.fhirledger.ledger.jdbc.JdbcPatientSecretStore.open(TestDatabase.dataSource(url), CLOCK,
        new SecureRandom());
    var p = new org.fhirledger.ledger.entry.Pseudonymizer(store);
    var before = p.pseudonymFor("Patient/9");
    assertTrue(store.erase("Patient/9"));
    assertTrue(p.existingPseudonym("Patient/9").isEmpty());
    assertTrue(!before.equals(p.pseudonymFor("Patient/9")), "a new secret must give a new pseudonym");
    assertTrue(p.pseudonymFor("Patient/10") != null);
    try (java.sql.Connection c = TestDatabase.dataSource(url).getConnection();
        java.sql.Statement s = c.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM ledger_patient_secret WHERE patient_ref = 'Patient/9'")) {
      rs.next();
      assertEquals(1, rs.getInt(1), "only the new secret remains");
    }
  }
}
