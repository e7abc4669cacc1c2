package org.fhirledger.ledger.raft;

import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.witness.Cosigner;

/**
 * Creates the keys of a replicated ledger's members (mode 0600, with the public key beside it as {@code .vkey}):
 * <pre>
 * KeyTool group   &lt;log origin&gt;   &lt;file&gt;   the group's log signing key: create once, give every member a copy
 * KeyTool witness &lt;witness name&gt; &lt;file&gt;   one member's own witness (cosigning) key: never shared
 * </pre>
 * An existing file is kept (and checked to be for that name). Exit 0 done, 2 usage, 1 error.
 */
public final class KeyTool {
  private KeyTool() {}

  public static void main(String[] args) {
    if (args.length != 3 || !(args[0].equals("group") || args[0].equals("witness"))) {
      System.err.println("usage: KeyTool (group <log origin> | witness <witness name>) <file>");
      System.exit(2);
    }
    try {
      Path file = Path.of(args[2]);
      String vkey = args[0].equals("group")
          ? NoteSigner.loadOrGenerate(file, args[1], new SecureRandom()).verifier().vkey()
          : Cosigner.loadOrGenerate(file, args[1], new SecureRandom()).verifier().vkey();
      System.out.println(vkey);
    } catch (IOException | IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.exit(1);
    }
  }
}
