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
 * KeyTool tls     &lt;member id&gt; &lt;key file&gt; &lt;cert file&gt;   one member's TLS key (never shared) and
 *                 self-signed certificate (valid 3 years; give every member a copy, they pin it)
 * </pre>
 * An existing file is kept (and checked to be for that name). Exit 0 done, 2 usage, 1 error.
 */
public final class KeyTool {
  private KeyTool() {}

  public static void main(String[] args) {
    boolean tls = args.length == 4 && args[0].equals("tls");
    if (!tls && (args.length != 3 || !(args[0].equals("group") || args[0].equals("witness")))) {
      System.err.println("usage: KeyTool (group <log origin> | witness <witness name>) <file>");
      System.err.println("       KeyTool tls <member id> <key file> <certificate file>");
      System.exit(2);
    }
    try {
      if (tls) {
        java.security.cert.X509Certificate cert = RaftTls.generate(args[1], Path.of(args[2]), Path.of(args[3]),
            java.time.Duration.ofDays(3 * 365), new SecureRandom());
        System.out.println("SHA-256 " + RaftTls.fingerprint(cert) + " valid until " + cert.getNotAfter().toInstant());
        return;
      }
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
