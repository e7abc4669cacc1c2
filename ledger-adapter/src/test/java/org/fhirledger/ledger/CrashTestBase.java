package org.fhirledger.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a child JVM that appends with 32 threads with SIGKILL at random moments (after a random number of
 * acknowledgements), 20 times on one database; after each kill the log must verify, and every acknowledged append
 * must be present at its index with its content.
 */
abstract class CrashTestBase {
  static final int TRIALS = 20;
  static final int THREADS = 32;

  abstract TestDatabase database();

  @TempDir
  Path tmp;

  record Ack(long index, int thread, long seq) {}

  @Test
  void append_childKilledWithSigkillRepeatedly_logVerifiesAndNoAcknowledgedEntryIsLost() throws Exception {
    String url = database().freshUrl();
    NoteSigner signer = NoteSigner.generate("crash.test.example/log", new SecureRandom());
    Path key = tmp.resolve("signer.key");
    Files.writeString(key, signer.skey());
    long seed = Long.getLong("crash.seed", System.nanoTime());
    System.out.println(database().name() + " crash test seed " + seed + " (rerun with -Dcrash.seed=" + seed + ")");
    Random random = new Random(seed);
    long totalAcked = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
      int killAfter = 1 + random.nextInt(trial % 4 == 0 ? 20 : 3000);
      List<Ack> acks = runAndKill(url, key, trial, killAfter);
      totalAcked += acks.size();
      try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(TestDatabase.dataSource(url), Clock.systemUTC())) {
        Checkpoint cp = new LogVerifier(signer.verifier()).verifyLog(new JdbcLogSource(storage));
        for (Ack a : acks) {
          assertTrue(a.index() < cp.size(), "trial " + trial + ": acknowledged index " + a.index()
              + " is beyond the recovered tree size " + cp.size());
          assertArrayEquals(CrashChild.entry(trial, a.thread(), a.seq()),
              storage.entries(a.index(), a.index() + 1).get(0),
              "trial " + trial + ": acknowledged entry " + a.index() + " has other content");
        }
      }
      System.out.println(database().name() + " trial " + trial + ": killed after " + acks.size() + " acks");
    }
    try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(TestDatabase.dataSource(url), Clock.systemUTC())) {
      new LogVerifier(signer.verifier()).verifyHistory(new JdbcLogSource(storage));
    }
    assertTrue(totalAcked >= TRIALS, "children acknowledged only " + totalAcked + " appends in total");
  }

  private List<Ack> runAndKill(String url, Path key, int trial, int killAfter) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ProcessBuilder pb = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), CrashChild.class.getName(), url, key.toString(),
        Integer.toString(trial), Integer.toString(THREADS));
    pb.redirectError(tmp.resolve("child-" + trial + ".err").toFile());
    Process child = pb.start();
    List<Ack> acks = new ArrayList<>();
    boolean ready = false;
    try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8))) {
      StringBuilder partial = new StringBuilder();
      int c;
      boolean killed = false;
      while ((c = in.read()) >= 0) {
        if (c != '\n') {
          partial.append((char) c);
          continue;
        }
        String line = partial.toString();
        partial.setLength(0);
        if (line.startsWith("READY")) {
          ready = true;
        } else if (line.startsWith("ACK ")) {
          String[] f = line.split(" ");
          acks.add(new Ack(Long.parseLong(f[1]), Integer.parseInt(f[2]), Long.parseLong(f[3])));
        } else if (line.startsWith("FAIL")) {
          throw new AssertionError("trial " + trial + ": child append failed: " + line);
        }
        if (!killed && acks.size() >= killAfter) {
          // SIGKILL through the handle: Process.destroyForcibly() would also close our end of stdout, and we want
          // every line the child wrote before it died
          child.toHandle().destroyForcibly();
          killed = true;
        }
      }
      // an unterminated last line was cut by the kill: it was never fully acknowledged to us, so it is ignored
    } finally {
      child.destroyForcibly();
      assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not die");
    }
    assertTrue(ready, "trial " + trial + ": child never became ready; see " + tmp.resolve("child-" + trial + ".err")
        + ": " + readQuietly(tmp.resolve("child-" + trial + ".err")));
    assertEquals(137, child.exitValue(), "child must have been killed by SIGKILL");
    return acks;
  }

  private static String readQuietly(Path p) {
    try {
      String s = Files.readString(p);
      return s.length() > 2000 ? s.substring(0, 2000) : s;
    } catch (IOException e) {
      return "(unreadable)";
    }
  }
}
