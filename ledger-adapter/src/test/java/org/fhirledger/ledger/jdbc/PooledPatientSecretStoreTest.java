package org.fhirledger.ledger.jdbc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The secret store with pooled connections on an H2 file, as the gateway opens it: shared by more threads than it
 * keeps connections, closed with the gateway, opened again on the same file.
 */
class PooledPatientSecretStoreTest {

  private static final int MAX_IDLE = 4;

  @TempDir Path dir;

  private JdbcPatientSecretStore pooled() throws Exception {
    return JdbcPatientSecretStore.openPooled(JdbcLedgerStorage.h2(dir), Clock.systemUTC(), new SecureRandom(),
        MAX_IDLE);
  }

  @Test
  void secretFor_moreThreadsThanPooledConnections_everyPatientGetsOneSecret() throws Exception {
    int threads = MAX_IDLE * 4;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try (JdbcPatientSecretStore store = pooled()) {
      CountDownLatch go = new CountDownLatch(1);
      List<Future<String>> results = new ArrayList<>();
      for (int i = 0; i < threads * 4; i++) {
        String patient = "Patient/p" + (i % threads); // every patient asked for four times at once
        results.add(pool.submit(() -> {
          go.await();
          return patient + "=" + HexFormat.of().formatHex(store.secretFor(patient));
        }));
      }
      go.countDown();
      Set<String> answers = new HashSet<>();
      for (Future<String> f : results) {
        answers.add(f.get());
      }

      assertEquals(threads, answers.size(), "one secret per patient, whichever call created it");
      assertEquals(threads, answers.stream().map(s -> s.substring(0, s.indexOf('='))).collect(Collectors.toSet())
          .size());
      for (String answer : answers) {
        String patient = answer.substring(0, answer.indexOf('='));
        assertEquals(answer, patient + "=" + HexFormat.of().formatHex(store.existingSecret(patient).orElseThrow()));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void close_thenOpenedAgainOnTheSameFile_refusesCallsAndKeepsTheSecrets() throws Exception {
    JdbcPatientSecretStore first = pooled();
    byte[] secret;
    try (first) {
      secret = first.secretFor("Patient/restart-1");
      assertArrayEquals(secret, first.secretFor("Patient/restart-1"));
    }

    assertThrows(LedgerUnavailableException.class, () -> first.existingSecret("Patient/restart-1"),
        "a closed store hands out no connections");
    try (JdbcPatientSecretStore again = pooled()) {
      assertArrayEquals(secret, again.existingSecret("Patient/restart-1").orElseThrow());
      assertEquals(true, again.erase("Patient/restart-1"));
      assertEquals(false, again.existingSecret("Patient/restart-1").isPresent());
    }
  }
}
