package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.jdbc.JdbcPatientSecretStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateway instances' secret caches over one database store (H2 here; the shared PostgreSQL ledger in
 * production): one secret per patient whichever instance creates it, and an erasure through one instance is
 * honoured by the other once it has returned.
 */
class CachingPatientSecretStoreTest {

  private static final Duration TTL = Duration.ofMillis(300);

  @TempDir Path dir;

  private JdbcPatientSecretStore database() throws Exception {
    return JdbcPatientSecretStore.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC(), new SecureRandom());
  }

  @Test
  void secretFor_twoInstancesRaceForANewPatient_bothGetTheSameSecret() throws Exception {
    JdbcPatientSecretStore db = database();
    CachingPatientSecretStore one = new CachingPatientSecretStore(db, 100, TTL);
    CachingPatientSecretStore two = new CachingPatientSecretStore(db, 100, TTL);
    ExecutorService pool = Executors.newFixedThreadPool(8);
    CountDownLatch go = new CountDownLatch(1);
    List<Future<byte[]>> results = new ArrayList<>();
    try {
      for (int i = 0; i < 16; i++) {
        CachingPatientSecretStore via = i % 2 == 0 ? one : two;
        results.add(pool.submit(() -> {
          go.await();
          return via.secretFor("Patient/race-1");
        }));
      }
      go.countDown();
      Set<String> distinct = results.stream().map(f -> {
        try {
          return HexFormat.of().formatHex(f.get());
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }).collect(Collectors.toSet());

      assertEquals(1, distinct.size(), "secrets handed out for one patient: " + distinct);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void erase_throughOneInstance_otherInstanceNeverHandsOutTheErasedSecretAfterwards() throws Exception {
    JdbcPatientSecretStore db = database();
    CachingPatientSecretStore one = new CachingPatientSecretStore(db, 100, TTL);
    CachingPatientSecretStore two = new CachingPatientSecretStore(db, 100, TTL);
    byte[] before = two.secretFor("Patient/erase-1");
    assertArrayEquals(before, one.secretFor("Patient/erase-1"));

    long start = System.nanoTime();
    assertTrue(one.erase("Patient/erase-1"));
    long tookMillis = (System.nanoTime() - start) / 1_000_000;

    assertTrue(tookMillis >= TTL.toMillis(), "erasure waited for other caches: " + tookMillis + " ms");
    assertTrue(two.existingSecret("Patient/erase-1").isEmpty(), "the other instance still knows the erased secret");
    byte[] after = two.secretFor("Patient/erase-1");
    assertFalse(Arrays.equals(before, after), "the other instance handed out the erased secret");
    assertArrayEquals(after, one.secretFor("Patient/erase-1"));
  }

  @Test
  void erase_withoutTtl_returnsAtOnceAndForgetsTheSecret() throws Exception {
    CachingPatientSecretStore only = new CachingPatientSecretStore(database(), 100);
    byte[] before = only.secretFor("Patient/local-1");

    assertTrue(only.erase("Patient/local-1"));

    assertTrue(only.existingSecret("Patient/local-1").isEmpty());
    assertFalse(Arrays.equals(before, only.secretFor("Patient/local-1")));
  }
}
