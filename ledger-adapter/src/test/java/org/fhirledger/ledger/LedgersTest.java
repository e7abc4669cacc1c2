package org.fhirledger.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LedgersTest {
  @Test
  void openH2_firstStart_generatesOwnerOnlyKeyAndLaterStartsReuseIt(@TempDir Path dataDir) throws Exception {
    NoteVerifier first;
    try (Ledger ledger = Ledgers.openH2(dataDir, "default.example/log", LedgerOptions.defaults())) {
      first = ledger.verifier();
      ledger.append(new byte[] {1, 2, 3});
    }
    Path key = dataDir.resolve(Ledgers.KEY_FILE);
    assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
        Files.getPosixFilePermissions(key));
    assertEquals(first.vkey(), Files.readString(dataDir.resolve(Ledgers.KEY_FILE + ".vkey")).strip());
    try (Ledger ledger = Ledgers.openH2(dataDir, "default.example/log", LedgerOptions.defaults())) {
      assertEquals(first, ledger.verifier());
      assertEquals(1, ledger.append(new byte[] {4}).index());
    }
    try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dataDir),
        LedgerOptions.defaults().clock())) {
      Checkpoint cp = new LogVerifier(NoteVerifier.parse(Files.readString(
          dataDir.resolve(Ledgers.KEY_FILE + ".vkey")))).verifyLog(new JdbcLogSource(storage));
      assertEquals(2, cp.size());
    }
    assertTrue(Files.exists(dataDir.resolve("ledger.mv.db")));
  }
}
