package org.fhirledger.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.jdbc.SharedPostgresLedger;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateway instances on one PostgreSQL ledger (real PostgreSQL from embedded binaries): they take turns as the
 * sequencer under load, and when the sequencing one is killed the other takes over; the log verifies and no
 * acknowledged append is lost.
 */
class SharedPostgresLedgerTest {
  private static TestDatabase db;

  @TempDir
  Path tmp;

  record Ack(String who, long index, int thread, long seq) {}

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.postgres();
  }

  @AfterAll
  static void stop() throws Exception {
    db.close();
  }

  static byte[] entry(String who, int thread, long seq) {
    return ("synthetic shared " + who + " t" + thread + " #" + seq).getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void append_twoInstancesConcurrently_takeTurnsAndLoseNothing() throws Exception {
    String url = db.freshUrl();
    NoteSigner signer = NoteSigner.generate("shared.test.example/ledger", new SecureRandom());
    try (SharedPostgresLedger one = open(url, signer); SharedPostgresLedger two = open(url, signer)) {
      ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        SharedPostgresLedger via = t % 2 == 0 ? one : two;
        String who = t % 2 == 0 ? "one" : "two";
        threads.add(Thread.ofPlatform().start(() -> {
          for (int seq = 0; seq < 150; seq++) {
            try {
              acks.add(new Ack(who, via.append(entry(who, thread, seq)).index(), thread, seq));
            } catch (Exception e) {
              throw new AssertionError(e);
            }
          }
        }));
      }
      for (Thread t : threads) {
        t.join(TimeUnit.MINUTES.toMillis(2));
      }
      assertEquals(8 * 150, acks.size(), "every append was acknowledged");
      assertTrue(one.leasesTaken() >= 1 && two.leasesTaken() >= 1, "both instances sequenced: "
          + one.leasesTaken() + ", " + two.leasesTaken());
      assertLogHolds(url, signer, acks);
    }
  }

  @Test
  void append_sequencingInstanceKilledUnderLoad_otherTakesOverAndNothingAcknowledgedIsLost() throws Exception {
    String url = db.freshUrl();
    NoteSigner signer = NoteSigner.generate("shared.kill.test.example/ledger", new SecureRandom());
    Path key = tmp.resolve("signer.key");
    Files.writeString(key, signer.skey());
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child = new ProcessBuilder(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), SharedChild.class.getName(), url, key.toString(), "8")
        .redirectError(tmp.resolve("child.err").toFile()).start();
    ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
    AtomicInteger childAcks = new AtomicInteger();
    Thread reader = Thread.ofPlatform().start(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(child.getInputStream(),
          StandardCharsets.UTF_8))) {
        for (String line; (line = in.readLine()) != null; ) {
          if (line.startsWith("ACK ")) {
            String[] p = line.split(" ");
            acks.add(new Ack("child", Long.parseLong(p[1]), Integer.parseInt(p[2]), Long.parseLong(p[3])));
            childAcks.incrementAndGet();
          }
        }
      } catch (java.io.IOException e) {
        // the child was killed mid-line: what it printed in full is what it acknowledged
      }
    });
    try (SharedPostgresLedger mine = open(url, signer)) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicInteger mineAcked = new AtomicInteger();
      AtomicInteger failed = new AtomicInteger();
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int thread = t;
        threads.add(Thread.ofPlatform().start(() -> {
          for (long seq = 0; !stop.get(); seq++) {
            try {
              acks.add(new Ack("parent", mine.append(entry("parent", thread, seq)).index(), thread, seq));
              mineAcked.incrementAndGet();
            } catch (LedgerUnavailableException e) {
              failed.incrementAndGet();
            } catch (InterruptedException e) {
              return;
            }
          }
        }));
      }
      await("the child to acknowledge 300 appends", () -> childAcks.get() >= 300);
      await("the child to be the sequencer", () -> !mine.isSequencer());
      child.destroyForcibly();
      assertTrue(child.waitFor(30, TimeUnit.SECONDS));
      reader.join(10_000);
      int atKill = mineAcked.get();
      await("300 more acknowledged appends here after the kill", () -> mineAcked.get() >= atKill + 300);
      stop.set(true);
      for (Thread t : threads) {
        t.join(60_000);
      }
      System.out.println("child acknowledged " + childAcks.get() + ", parent " + mineAcked.get() + " (" + atKill
          + " before the kill), failed " + failed.get() + ", parent leases " + mine.leasesTaken());
    } finally {
      child.destroyForcibly();
    }
    assertLogHolds(url, signer, acks);
  }

  private static SharedPostgresLedger open(String url, NoteSigner signer) throws Exception {
    return SharedPostgresLedger.open(TestDatabase.dataSource(url), signer,
        LedgerOptions.defaults().withMaxBatchSize(256), Duration.ofMillis(100));
  }

  private static void assertLogHolds(String url, NoteSigner signer, ConcurrentLinkedQueue<Ack> acks)
      throws Exception {
    try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(TestDatabase.dataSource(url), Clock.systemUTC())) {
      new LogVerifier(signer.verifier()).verifyHistory(new JdbcLogSource(storage));
      Checkpoint cp = new LogVerifier(signer.verifier()).verifyLog(new JdbcLogSource(storage));
      for (Ack a : acks) {
        assertTrue(a.index() < cp.size(), "acknowledged index " + a.index() + " beyond the log " + cp.size());
        assertArrayEquals(entry(a.who(), a.thread(), a.seq()), storage.entries(a.index(), a.index() + 1).get(0),
            "acknowledged entry " + a.index() + " of " + a.who() + " has other content");
      }
    }
  }

  private static void await(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      Thread.sleep(10);
    }
  }
}
