package org.fhirledger.ledger.note;

import java.util.Base64;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * C2SP tlog-checkpoint bodies: {@code <origin>\n<tree size>\n<base64 root hash>\n}, signed as a note by the log's
 * key, whose name is the origin.
 *
 * <p>Stateless and thread-safe.
 */
public final class Checkpoints {
  private Checkpoints() {}

  /** The note text of a checkpoint, with no extension lines. */
  public static String text(String origin, long size, byte[] rootHash) {
    if (origin.isEmpty() || origin.indexOf('\n') >= 0) {
      throw new IllegalArgumentException("origin must be one non-empty line");
    }
    if (size < 0 || rootHash.length != 32) {
      throw new IllegalArgumentException("size must be >= 0 and the root 32 bytes");
    }
    return origin + "\n" + size + "\n" + Base64.getEncoder().encodeToString(rootHash) + "\n";
  }

  /** Signs a checkpoint with {@code signer}, whose name is the origin. */
  public static Checkpoint sign(NoteSigner signer, long size, byte[] rootHash) {
    String note = signer.sign(text(signer.name(), size, rootHash));
    return new Checkpoint(signer.name(), size, rootHash, note);
  }

  /**
   * Verifies the signature of {@code signedNote} with {@code verifier} and parses it; the origin must be the key
   * name.
   *
   * @throws LedgerVerificationException naming what is wrong
   */
  public static Checkpoint open(String signedNote, NoteVerifier verifier) throws LedgerVerificationException {
    String text = Notes.open(signedNote, verifier);
    Checkpoint c = parseText(text, signedNote);
    if (!c.origin().equals(verifier.name())) {
      throw new LedgerVerificationException("checkpoint origin " + c.origin() + " is not the key name "
          + verifier.name());
    }
    return c;
  }

  /** Parses a signed note's checkpoint body without verifying it (for diagnostics only). */
  public static Checkpoint parseUnverified(String signedNote) throws LedgerVerificationException {
    int split = signedNote.lastIndexOf("\n\n");
    if (split < 0) {
      throw new LedgerVerificationException("signed note has no blank line before its signatures");
    }
    return parseText(signedNote.substring(0, split + 1), signedNote);
  }

  private static Checkpoint parseText(String text, String signedNote) throws LedgerVerificationException {
    String[] lines = text.substring(0, text.length() - 1).split("\n", -1);
    if (lines.length < 3) {
      throw new LedgerVerificationException("checkpoint has " + lines.length + " lines, expected at least 3");
    }
    for (int i = 0; i < lines.length; i++) {
      if (lines[i].isEmpty()) {
        throw new LedgerVerificationException("checkpoint line " + (i + 1) + " is empty");
      }
    }
    String sizeLine = lines[1];
    if (!sizeLine.matches("0|[1-9][0-9]{0,18}")) {
      throw new LedgerVerificationException("checkpoint tree size '" + sizeLine + "' is not a decimal without "
          + "leading zeroes");
    }
    long size;
    try {
      size = Long.parseLong(sizeLine);
    } catch (NumberFormatException e) {
      throw new LedgerVerificationException("checkpoint tree size '" + sizeLine + "' is out of range");
    }
    byte[] root;
    try {
      root = Base64.getDecoder().decode(lines[2]);
    } catch (IllegalArgumentException e) {
      throw new LedgerVerificationException("checkpoint root hash is not base64");
    }
    if (root.length != 32) {
      throw new LedgerVerificationException("checkpoint root hash has " + root.length + " bytes, expected 32");
    }
    return new Checkpoint(lines[0], size, root, signedNote);
  }
}
