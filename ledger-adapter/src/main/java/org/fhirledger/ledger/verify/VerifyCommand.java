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
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Command-line verifier. Trusts only the verifier key given to it.
 *
 * <pre>
 * java -cp ledger-adapter.jar:... org.fhirledger.ledger.verify.VerifyCommand --vkey KEY|@FILE
 *     ( --url PREFIX | --jdbc URL [--user U] [--password-env VAR] [--history] )
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
    try {
      for (int i = 0; i < args.length; i++) {
        switch (args[i]) {
          case "--vkey" -> vkey = args[++i];
          case "--url" -> url = args[++i];
          case "--jdbc" -> jdbc = args[++i];
          case "--user" -> user = args[++i];
          case "--password-env" -> passwordEnv = args[++i];
          case "--history" -> history = true;
          default -> throw new IllegalArgumentException("unknown argument " + args[i]);
        }
      }
      if (vkey == null || (url == null) == (jdbc == null)) {
        throw new IllegalArgumentException("need --vkey and exactly one of --url, --jdbc");
      }
      if (vkey.startsWith("@")) {
        vkey = Files.readString(Path.of(vkey.substring(1)), StandardCharsets.UTF_8).strip();
      }
    } catch (IllegalArgumentException | ArrayIndexOutOfBoundsException | IOException e) {
      err.println("usage: VerifyCommand --vkey KEY|@FILE (--url PREFIX | --jdbc URL [--user U] [--password-env VAR]"
          + " [--history])");
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
        cp = verifier.verifyLog(new HttpLogSource(URI.create(url), HttpClient.newHttpClient(), Duration.ofSeconds(30)));
      } else {
        String password = passwordEnv == null ? "" : System.getenv(passwordEnv);
        try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(dataSource(jdbc, user, password), Clock.systemUTC())) {
          JdbcLogSource source = new JdbcLogSource(storage);
          if (history) {
            verifier.verifyHistory(source);
          }
          cp = verifier.verifyLog(source);
        }
      }
      out.println("OK: " + cp.origin() + " tree size " + cp.size() + " root " + Rfc6962.hex(cp.rootHash())
          + (history ? " (all stored checkpoints consistent)" : ""));
      return 0;
    } catch (LedgerVerificationException e) {
      out.println("FAILED: " + e.getMessage());
      return 1;
    } catch (LedgerUnavailableException e) {
      err.println("error: cannot read the log: " + e.getMessage());
      return 3;
    }
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
