package org.fhirledger.ledger.note;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * Opens C2SP signed notes: text ending in a newline, a blank line, then signature lines
 * {@code — <key name> base64(key ID || signature)}. Signatures by unknown keys are ignored; a signature by the
 * known key (same name and key ID) must verify; at least one must be present.
 *
 * <p>Stateless and thread-safe.
 */
public final class Notes {
  static final String EM_DASH = "\u2014";
  private static final int MAX_SIGNATURES = 64;

  private Notes() {}

  /**
   * Verifies {@code note} with {@code verifier} and returns its text (including the final newline).
   *
   * @throws LedgerVerificationException naming the defect: malformed note, no signature by the key, bad signature
   */
  public static String open(String note, NoteVerifier verifier) throws LedgerVerificationException {
    for (int i = 0; i < note.length(); i++) {
      char c = note.charAt(i);
      if (c < 0x20 && c != '\n') {
        throw new LedgerVerificationException("signed note contains control character 0x"
            + Integer.toHexString(c) + " at offset " + i);
      }
    }
    int split = note.lastIndexOf("\n\n");
    if (split < 0) {
      throw new LedgerVerificationException("signed note has no blank line before its signatures");
    }
    String text = note.substring(0, split + 1);
    String sigs = note.substring(split + 2);
    if (sigs.isEmpty() || !sigs.endsWith("\n")) {
      throw new LedgerVerificationException("signed note's signature block is empty or does not end in a newline");
    }
    String[] lines = sigs.substring(0, sigs.length() - 1).split("\n", -1);
    if (lines.length > MAX_SIGNATURES) {
      throw new LedgerVerificationException("signed note has " + lines.length + " signatures, more than "
          + MAX_SIGNATURES);
    }
    byte[] msg = text.getBytes(StandardCharsets.UTF_8);
    boolean verified = false;
    for (String line : lines) {
      if (!line.startsWith(EM_DASH + " ")) {
        throw new LedgerVerificationException("malformed signature line: does not start with an em dash and space");
      }
      String rest = line.substring(2);
      int space = rest.lastIndexOf(' ');
      if (space <= 0) {
        throw new LedgerVerificationException("malformed signature line: no key name and signature");
      }
      String name = rest.substring(0, space);
      byte[] idSig;
      try {
        idSig = Base64.getDecoder().decode(rest.substring(space + 1));
      } catch (IllegalArgumentException e) {
        throw new LedgerVerificationException("signature by " + name + " is not base64");
      }
      if (idSig.length < 5) {
        throw new LedgerVerificationException("signature by " + name + " is too short (" + idSig.length + " bytes)");
      }
      int id = ((idSig[0] & 0xFF) << 24) | ((idSig[1] & 0xFF) << 16) | ((idSig[2] & 0xFF) << 8) | (idSig[3] & 0xFF);
      if (!name.equals(verifier.name()) || id != verifier.keyId()) {
        continue;
      }
      verifier.verifySignature(msg, Arrays.copyOfRange(idSig, 4, idSig.length), "signed note");
      verified = true;
    }
    if (!verified) {
      throw new LedgerVerificationException("signed note carries no signature by key " + verifier.name() + "+"
          + String.format("%08x", verifier.keyId()));
    }
    return text;
  }

  static void checkText(String text) {
    if (text.isEmpty() || !text.endsWith("\n")) {
      throw new IllegalArgumentException("note text must end with a newline");
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 && c != '\n') {
        throw new IllegalArgumentException("note text must not contain control characters");
      }
    }
  }
}
