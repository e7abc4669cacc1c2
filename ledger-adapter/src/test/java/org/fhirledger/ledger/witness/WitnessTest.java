package org.fhirledger.ledger.witness;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteSigner;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** C2SP tlog-witness add-checkpoint and tlog-cosignature v1 against a real log and a witness store in H2. */
class WitnessTest {
  private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

  @TempDir
  Path tmp;

  private Ledger log;
  private JdbcLedgerStorage witnessDb;
  private Witness witness;
  private Cosigner key;

  @BeforeEach
  void setUp() throws Exception {
    log = Ledgers.openH2(tmp.resolve("log"), "log.test.example/ledger", LedgerOptions.defaults());
    witnessDb = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(tmp.resolve("witness")), Clock.systemUTC());
    key = Cosigner.generate("witness.test.example/w1", new SecureRandom());
    witness = new Witness(key, List.of(log.verifier()), new JdbcWitnessStore(witnessDb.dataSource()),
        Clock.fixed(NOW, ZoneOffset.UTC));
  }

  @AfterEach
  void tearDown() {
    log.close();
    witnessDb.close();
  }

  @Test
  void cosign_v1_isTheSpecsMessageSignedWithTheSpecsKeyId() throws Exception {
    Checkpoint cp = append(3);
    String text = cp.signedNote().substring(0, cp.signedNote().lastIndexOf("\n\n") + 1);
    String line = key.cosign(text, 1679315147L);

    assertTrue(line.startsWith("\u2014 witness.test.example/w1 ") && line.endsWith("\n"));
    byte[] raw = Base64.getDecoder().decode(line.substring(line.lastIndexOf(' ') + 1).strip());
    assertEquals(76, raw.length);
    byte[] pub = Base64.getDecoder().decode(key.verifier().vkey().split("\\+", 3)[2]);
    assertEquals(0x04, pub[0]);
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    md.update("witness.test.example/w1\n".getBytes(StandardCharsets.UTF_8));
    md.update(pub);
    assertArrayEquals(Arrays.copyOf(md.digest(), 4), Arrays.copyOf(raw, 4), "key ID");
    assertEquals(1679315147L, java.nio.ByteBuffer.wrap(raw, 4, 8).getLong(), "big-endian timestamp");
    byte[] msg = ("cosignature/v1\ntime 1679315147\n" + text).getBytes(StandardCharsets.UTF_8);
    Ed25519Signer s = new Ed25519Signer();
    s.init(false, new Ed25519PublicKeyParameters(pub, 1));
    s.update(msg, 0, msg.length);
    assertTrue(s.verifySignature(Arrays.copyOfRange(raw, 12, 76)));
    assertEquals(1679315147L, key.verifier().verify(cp.signedNote() + line));
  }

  @Test
  void addCheckpoint_firstThenExtended_cosignsEachAndRemembersTheSize() throws Exception {
    Checkpoint first = append(5);
    Witness.Response r = witness.addCheckpoint(body(0, first));
    assertEquals(200, r.status(), r.body());
    assertEquals(NOW.getEpochSecond(), key.verifier().verify(first.signedNote() + r.body()));

    Checkpoint second = append(300);
    r = witness.addCheckpoint(body(first.size(), second));
    assertEquals(200, r.status(), r.body());
    assertEquals(second.size(), witness.latest(second.origin()).orElseThrow().size());
  }

  @Test
  void addCheckpoint_staleOldSize_409WithTheCosignedSize() throws Exception {
    Checkpoint first = append(5);
    assertEquals(200, witness.addCheckpoint(body(0, first)).status());
    Checkpoint second = append(5);

    Witness.Response r = witness.addCheckpoint(body(0, second));

    assertEquals(409, r.status());
    assertEquals("text/x.tlog.size", r.contentType());
    assertEquals(first.size() + "\n", r.body());
  }

  @Test
  void addCheckpoint_badConsistencyProof_422AndEvidenceKept() throws Exception {
    Checkpoint first = append(5);
    assertEquals(200, witness.addCheckpoint(body(0, first)).status());
    Checkpoint second = append(7);
    List<byte[]> proof = log.consistencyProof(first.size(), second.size()).hashes();
    byte[] bad = proof.get(0).clone();
    bad[0] ^= 1;
    String tampered = "old " + first.size() + "\n" + Base64.getEncoder().encodeToString(bad) + "\n"
        + proof.subList(1, proof.size()).stream().map(h -> Base64.getEncoder().encodeToString(h) + "\n")
            .reduce("", String::concat) + "\n" + second.signedNote();

    Witness.Response r = witness.addCheckpoint(tampered);

    assertEquals(422, r.status(), r.body());
    assertEquals(first.size(), witness.latest(first.origin()).orElseThrow().size(), "not cosigned");
    assertEquals(1, witness.evidence(first.origin()).size());
  }

  @Test
  void addCheckpoint_sameSizeOtherRoot_409AndEvidenceKept() throws Exception {
    Checkpoint first = append(5);
    assertEquals(200, witness.addCheckpoint(body(0, first)).status());
    NoteSigner sameKey = NoteSigner.parse(java.nio.file.Files.readString(tmp.resolve("log").resolve(Ledgers.KEY_FILE)));
    byte[] otherRoot = first.rootHash();
    otherRoot[0] ^= 1;
    Checkpoint fork = Checkpoints.sign(sameKey, first.size(), otherRoot);

    Witness.Response r = witness.addCheckpoint(body(first.size(), fork, List.of()));

    assertEquals(409, r.status(), r.body());
    assertTrue(witness.evidence(first.origin()).get(0).reason().contains("cosigned root"));
  }

  @Test
  void addCheckpoint_signedByUnknownKey_403() throws Exception {
    NoteSigner impostor = NoteSigner.generate("log.test.example/ledger", new SecureRandom());
    Checkpoint cp = Checkpoints.sign(impostor, 0, org.fhirledger.ledger.merkle.Rfc6962.emptyRoot());

    assertEquals(403, witness.addCheckpoint(body(0, cp, List.of())).status());
  }

  @Test
  void addCheckpoint_unknownOrigin_404() throws Exception {
    NoteSigner other = NoteSigner.generate("other.test.example/ledger", new SecureRandom());
    Checkpoint cp = Checkpoints.sign(other, 0, org.fhirledger.ledger.merkle.Rfc6962.emptyRoot());

    assertEquals(404, witness.addCheckpoint(body(0, cp, List.of())).status());
  }

  @Test
  void addCheckpoint_malformedOrOldBeyondSize_400() throws Exception {
    Checkpoint cp = append(2);
    assertEquals(400, witness.addCheckpoint("hello").status());
    assertEquals(400, witness.addCheckpoint("old 01\n\n" + cp.signedNote()).status());
    assertEquals(400, witness.addCheckpoint("old 0\nnot-base64!\n\n" + cp.signedNote()).status());
    assertEquals(400, witness.addCheckpoint("old 9\n\n" + cp.signedNote()).status());
  }

  @Test
  void policy_kOfN_countsOnlyValidCosignaturesOfTrustedWitnesses() throws Exception {
    Checkpoint cp = append(4);
    String text = cp.signedNote().substring(0, cp.signedNote().lastIndexOf("\n\n") + 1);
    Cosigner w2 = Cosigner.generate("witness.test.example/w2", new SecureRandom());
    Cosigner w3 = Cosigner.generate("witness.test.example/w3", new SecureRandom());
    Cosigner stranger = Cosigner.generate("witness.test.example/x", new SecureRandom());
    String cosigned = cp.signedNote() + key.cosign(text, 1) + w2.cosign(text, 2) + stranger.cosign(text, 3);
    List<CosignatureVerifier> trusted = List.of(key.verifier(), w2.verifier(), w3.verifier());

    assertEquals(List.of("witness.test.example/w1", "witness.test.example/w2"),
        new CosignaturePolicy(trusted, 2).verify(cosigned));
    LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
        () -> new CosignaturePolicy(trusted, 3).verify(cosigned));
    assertTrue(e.getMessage().contains("2 of the 3"), e.getMessage());
    String forged = cp.signedNote() + key.cosign(text.replace("\n4\n", "\n5\n"), 1);
    assertThrows(LedgerVerificationException.class, () -> new CosignaturePolicy(trusted, 1).verify(forged));
  }

  @Test
  void cosignLatest_twoWitnesses_collectsBothAndFollowsA409() throws Exception {
    JdbcLedgerStorage db2 = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(tmp.resolve("w2")), Clock.systemUTC());
    try {
      Witness w2 = new Witness(Cosigner.generate("witness.test.example/w2", new SecureRandom()),
          List.of(log.verifier()), new JdbcWitnessStore(db2.dataSource()), Clock.systemUTC());
      Checkpoint early = append(3);
      assertEquals(200, w2.addCheckpoint(body(0, early)).status(), "w2 already saw size 3");
      append(50);
      CheckpointCosigning cosigning = new CheckpointCosigning(log,
          List.of(WitnessClient.of(witness), WitnessClient.of(w2)));

      String note = cosigning.cosignLatest();

      new CosignaturePolicy(List.of(witness.verifier(), w2.verifier()), 2).verify(note);
      assertEquals(note, cosigning.latestCosigned().orElseThrow());
    } finally {
      db2.close();
    }
  }

  @Test
  void cosignLatest_withStore_restartServesTheStoredCosignedCheckpoint() throws Exception {
    append(5);
    JdbcCosignedCheckpoints store = new JdbcCosignedCheckpoints(witnessDb.dataSource(), log.verifier().name(),
        Clock.systemUTC());
    String note = new CheckpointCosigning(log, List.of(WitnessClient.of(witness)), store).cosignLatest();

    CheckpointCosigning restarted = new CheckpointCosigning(log, List.of(WitnessClient.of(witness)), store);

    assertEquals(note, restarted.latestCosigned().orElseThrow());
    new CosignaturePolicy(List.of(witness.verifier()), 1).verify(restarted.latestCosigned().orElseThrow());
  }

  @Test
  void cosignLatest_storedNoteTampered_forgedCosignatureNotServed() throws Exception {
    Checkpoint cp = append(4);
    JdbcCosignedCheckpoints store = new JdbcCosignedCheckpoints(witnessDb.dataSource(), log.verifier().name(),
        Clock.systemUTC());
    // A witness of the same name with another key: its cosignature is well-formed but not the trusted witness's.
    try (JdbcLedgerStorage forgerDb = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(tmp.resolve("forger")),
        Clock.systemUTC())) {
      Witness forger = new Witness(Cosigner.generate(key.verifier().name(), new SecureRandom()),
          List.of(log.verifier()), new JdbcWitnessStore(forgerDb.dataSource()), Clock.systemUTC());
      store.offer(cp.size(), cp.signedNote() + forger.addCheckpoint(body(0, cp)).body());
    }

    CheckpointCosigning restarted = new CheckpointCosigning(log, List.of(WitnessClient.of(witness)), store);

    assertTrue(restarted.latestCosigned().isEmpty(), "a cosignature by an unknown key was served");
  }

  @Test
  void offer_smallerTreeAfterLarger_keepsTheLarger() throws Exception {
    JdbcCosignedCheckpoints store = new JdbcCosignedCheckpoints(witnessDb.dataSource(), "o.test/ledger",
        Clock.systemUTC());

    store.offer(10, "ten");
    store.offer(7, "seven");

    assertEquals("ten", store.latest().orElseThrow());
  }

  private Checkpoint append(int n) throws Exception {
    for (int i = 0; i < n; i++) {
      log.append(("synthetic entry " + i + " " + System.nanoTime()).getBytes(StandardCharsets.UTF_8));
    }
    return log.latestCheckpoint();
  }

  private String body(long old, Checkpoint cp) throws Exception {
    return body(old, cp, old == 0 ? List.of() : log.consistencyProof(old, cp.size()).hashes());
  }

  private static String body(long old, Checkpoint cp, List<byte[]> proof) {
    StringBuilder b = new StringBuilder("old ").append(old).append('\n');
    for (byte[] h : proof) {
      b.append(Base64.getEncoder().encodeToString(h)).append('\n');
    }
    return b.append('\n').append(cp.signedNote()).toString();
  }
}
