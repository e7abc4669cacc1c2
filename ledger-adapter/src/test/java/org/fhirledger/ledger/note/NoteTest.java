package org.fhirledger.ledger.note;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.Set;
import org.fhirledger.ledger.LedgerVerificationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Signed notes against the known-answer vector of golang.org/x/mod/sumdb/note (a different implementation). */
class NoteTest {
  static final String GO_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
  static final String GO_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  static final String GO_TEXT = "If you think cryptography is the answer to your problem,\n"
      + "then you don't know what your problem is.\n";
  static final String GO_NOTE = GO_TEXT + "\n\u2014 PeterNeumann "
      + "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

  @Test
  void sign_goKnownAnswer_producesTheSameNoteByteForByte() {
    NoteSigner signer = NoteSigner.parse(GO_SKEY);
    assertEquals(GO_VKEY, signer.verifier().vkey());
    assertEquals(GO_NOTE, signer.sign(GO_TEXT));
    assertEquals(GO_SKEY, signer.skey());
  }

  @Test
  void open_goKnownAnswer_returnsTheText() throws Exception {
    assertEquals(GO_TEXT, Notes.open(GO_NOTE, NoteVerifier.parse(GO_VKEY)));
  }

  @Test
  void open_oneCharacterOfTextChanged_throwsSignatureDoesNotVerify() {
    String bad = GO_NOTE.replace("problem,", "problem;");
    LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
        () -> Notes.open(bad, NoteVerifier.parse(GO_VKEY)));
    assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
  }

  @Test
  void open_signatureByUnknownKeyOnly_throwsNoSignatureByKey() {
    NoteSigner other = NoteSigner.generate("PeterNeumann", new SecureRandom());
    LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
        () -> Notes.open(other.sign(GO_TEXT), NoteVerifier.parse(GO_VKEY)));
    assertTrue(e.getMessage().contains("no signature by key PeterNeumann+c74f20a3"), e.getMessage());
  }

  @Test
  void open_unknownSignatureBesideKnownOne_isIgnored() throws Exception {
    String extra = GO_NOTE + "\u2014 someone.else/key AAAAAAAAAAAAAA==\n";
    assertEquals(GO_TEXT, Notes.open(extra, NoteVerifier.parse(GO_VKEY)));
  }

  @Test
  void parse_vkeyWithWrongKeyId_isRejected() {
    assertThrows(IllegalArgumentException.class,
        () -> NoteVerifier.parse(GO_VKEY.replace("c74f20a3", "c74f20a4")));
  }

  @Test
  void checkpoint_signed_isTheThreeLineBodyAndOneSignatureLine() throws Exception {
    NoteSigner signer = NoteSigner.parse(GO_SKEY);
    byte[] root = new byte[32];
    root[0] = 1;
    var cp = Checkpoints.sign(signer, 1234, root);
    String text = "PeterNeumann\n1234\nAQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";
    assertTrue(cp.signedNote().startsWith(text + "\n\u2014 PeterNeumann x08go"), cp.signedNote());
    assertEquals(text.length() + 1 + "\u2014 PeterNeumann ".length() + 92 + 1, cp.signedNote().length());
    assertEquals(cp, Checkpoints.open(cp.signedNote(), signer.verifier()));
  }

  @Test
  void loadOrGenerate_firstStart_writesKeyReadableOnlyByOwnerAndReloadsIt(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("keys").resolve("ledger-signer.key");
    NoteSigner a = NoteSigner.loadOrGenerate(file, "log.example/a", new SecureRandom());
    assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
        Files.getPosixFilePermissions(file));
    NoteSigner b = NoteSigner.loadOrGenerate(file, "log.example/a", new SecureRandom());
    assertEquals(a.verifier(), b.verifier());
    assertEquals(a.verifier().vkey() + "\n", Files.readString(dir.resolve("keys").resolve("ledger-signer.key.vkey")));
    assertThrows(IllegalArgumentException.class,
        () -> NoteSigner.loadOrGenerate(file, "log.example/other", new SecureRandom()));
  }
}
