package org.fhirledger.ledger.verify;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.witness.CosignaturePolicy;
import org.fhirledger.ledger.witness.CosignatureVerifier;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Command-line verifier. Trusts only the verifier key given to it.
 *
 * <pre>
 * java -cp ledger-adapter.jar:... org.fhirledger.ledger.verify.VerifyCommand --vkey KEY|@FILE
 *     ( --url PREFIX | --jdbc URL [--user U] [--password-env VAR] [--history] )
 *     [ --witness VKEY|@FILE ... [--quorum K] [--witnessed COSIGNED_CHECKPOINT_FILE] ]
 * </pre>
 *
 * Exit codes: 0 verified, 1 verification failed (the message says what), 2 usage error, 3 log unreadable.
 */
public final class VerifyCommand {
  private VerifyCommand() {}

  public static void main(String[] args) {
    System.exit(run(args, System.out, System.err));
  }

  /** Runs the command; returns the exit code. */
  public static int run(String[] args, PrintStream out, PrintStream err) {
    String vkey = null;
    String url = null;
    String jdbc = null;
    String user = null;
    String passwordEnv = null;
    boolean history = false;
    java.util.List<String> witnessKeys = new java.util.ArrayList<>();
    Integer quorum = null;
    String witnessedFile = null;
    CosignaturePolicy policy = null;
    String witnessed = null;
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--vkey" -> vkey = args[++i];
          case "--url" -> url = args[++i];
          case "--jdbc" -> jdbc = args[++i];
          case "--user" -> user = args[++i];
          case "--password-env" -> passwordEnv = args[++i];
          case "--history" -> history = true;
          case "--witness" -> witnessKeys.add(args[++i]);
          case "--quorum" -> quorum = Integer.parseInt(args[++i]);
          case "--witnessed" -> witnessedFile = args[++i];
          default -> throw new IllegalArgumentException("unknown argument " + args[i]);
        }
      }
      if (vkey == null || (url == null) == (jdbc == null)) {
        throw new IllegalArgumentException("need --vkey and exactly one of --url, --jdbc");
      }
      vkey = valueOrFile(vkey);
      if (!witnessKeys.isEmpty()) {
        java.util.List<CosignatureVerifier> ws = new java.util.ArrayList<>();
        for (String w : witnessKeys) {
          ws.add(CosignatureVerifier.parse(valueOrFile(w)));
        }
        policy = new CosignaturePolicy(ws, quorum == null ? ws.size() : quorum);
      } else if (quorum != null || witnessedFile != null) {
        throw new IllegalArgumentException("--quorum and --witnessed need at least one --witness");
      }
      if (jdbc != null && policy != null && witnessedFile == null) {
        throw new IllegalArgumentException("a database holds no cosignatures: with --jdbc, --witness needs "
            + "--witnessed (a checkpoint the witnesses cosigned)");
      }
      if (witnessedFile != null) {
        witnessed = Files.readString(Path.of(witnessedFile.startsWith("@") ? witnessedFile.substring(1)
            : witnessedFile), StandardCharsets.UTF_8);
      }
    } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException | IOException e) {
      err.println("usage: VerifyCommand --vkey KEY|@FILE (--url PREFIX | --jdbc URL [--user U] [--password-env VAR]"
          + " [--history]) [--witness VKEY|@FILE ... [--quorum K] [--witnessed COSIGNED_CHECKPOINT_FILE]]");
      err.println("error: " + e.getMessage());
      return 2;
    }
    LogVerifier verifier;
    try {
      verifier = new LogVerifier(NoteVerifier.parse(vkey));
    } catch (IllegalArgumentException e) {
      err.println("error: bad verifier key: " + e.getMessage());
      return 2;
    }
    try {
      Checkpoint cp;
      if (url != null) {
        cp = verify(verifier, new HttpLogSource(URI.create(url), HttpClient.newHttpClient(), Duration.ofSeconds(30)),
            policy, witnessed);
      } else {
        String password = passwordEnv == null ? "" : System.getenv(passwordEnv);
        try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(dataSource(jdbc, user, password), Clock.systemUTC())) {
          JdbcLogSource source = new JdbcLogSource(storage);
          if (history) {
            verifier.verifyHistory(source);
          }
          // a database copy holds no cosignatures: with witnesses, it is checked against a cosigned checkpoint
          cp = verify(verifier, source, policy, witnessed);
        }
      }
      out.println("OK: " + cp.origin() + " tree size " + cp.size() + " root " + Rfc6962.hex(cp.rootHash())
          + (history ? " (all stored checkpoints consistent)" : "")
          + (policy == null ? "" : witnessed != null ? " (holds the tree cosigned by >= " + policy.quorum()
              + " of " + policy.witnesses().size() + " witnesses)" : url != null ? " (cosigned by >= "
              + policy.quorum() + " of " + policy.witnesses().size() + " witnesses)" : ""));
      return 0;
    } catch (LedgerVerificationException e) {
      out.println("FAILED: " + e.getMessage());
      return 1;
    } catch (LedgerUnavailableException e) {
      err.println("error: cannot read the log: " + e.getMessage());
      return 3;
    }
  }

  private static Checkpoint verify(LogVerifier verifier, LogSource source, CosignaturePolicy policy, String witnessed)
      throws LedgerVerificationException, LedgerUnavailableException {
    if (policy == null) {
      return verifier.verifyLog(source);
    }
    return witnessed == null ? verifier.verifyLog(source, policy)
        : verifier.verifyWitnessed(source, witnessed, policy);
  }

  private static String valueOrFile(String v) throws IOException {
    return v.startsWith("@") ? Files.readString(Path.of(v.substring(1)), StandardCharsets.UTF_8).strip() : v;
  }

  private static javax.sql.DataSource dataSource(String url, String user, String password) {
    if (url.startsWith("jdbc:h2:")) {
      JdbcDataSource ds = new JdbcDataSource();
      ds.setURL(url);
      ds.setUser(user == null ? "ledger" : user);
      ds.setPassword(password == null ? "" : password);
      return ds;
    }
    if (url.startsWith("jdbc:postgresql:")) {
      PGSimpleDataSource ds = new PGSimpleDataSource();
      ds.setURL(url);
      if (user != null) {
        ds.setUser(user);
      }
      if (password != null && !password.isEmpty()) {
        ds.setPassword(password);
      }
      return ds;
    }
    throw new IllegalArgumentException("unsupported JDBC URL (H2 or PostgreSQL): " + url);
  }
}
