package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * Instance liveness on a shared PostgreSQL ledger (real PostgreSQL from embedded binaries): a live instance cannot be
 * claimed by a survivor nor started twice; a stopped one can be claimed, and cannot restart while claimed.
 */
class PostgresInstanceLocksTest {

  private static EmbeddedPostgres postgres;
  private static int databases;

  @BeforeAll
  static void start() throws Exception {
    postgres = EmbeddedPostgres.builder().start();
  }

  @AfterAll
  static void stop() throws Exception {
    postgres.close();
  }

  /** A fresh database, its connections named as the instance {@code origin} names them. */
  private static DataSource database(String name, String origin) throws Exception {
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(postgres.getJdbcUrl("postgres", name));
    ds.setApplicationName(PostgresInstanceLocks.applicationName(origin));
    return ds;
  }

  private static String freshDatabase() throws Exception {
    String name = "locks" + ++databases;
    try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return name;
  }

  @Test
  void claimIfDead_otherInstanceAlive_notClaimedUntilItStops() throws Exception {
    String db = freshDatabase();
    PostgresInstanceLocks a = PostgresInstanceLocks.acquire(database(db, "test/a"), "test/a", Duration.ofSeconds(5));
    try (PostgresInstanceLocks b = PostgresInstanceLocks.acquire(database(db, "test/b"), "test/b",
        Duration.ofSeconds(5))) {
      assertTrue(b.claimIfDead("test/a").isEmpty(), "a live instance was claimed");

      a.close();
      Optional<PostgresInstanceLocks.Claim> claim = b.claimIfDead("test/a");

      assertTrue(claim.isPresent(), "a stopped instance could not be claimed");
      IllegalStateException whileClaimed = assertThrows(IllegalStateException.class,
          () -> PostgresInstanceLocks.acquire(database(db, "test/a"), "test/a", Duration.ofMillis(1500)));
      assertTrue(whileClaimed.getMessage().contains("test/a"), whileClaimed.getMessage());
      claim.get().close();
      PostgresInstanceLocks.acquire(database(db, "test/a"), "test/a", Duration.ofSeconds(5)).close();
    }
  }

  @Test
  void acquire_sameOriginTwice_secondRefusedNamingTheSetting() throws Exception {
    String db = freshDatabase();
    try (PostgresInstanceLocks first = PostgresInstanceLocks.acquire(database(db, "test/x"), "test/x",
        Duration.ofSeconds(5))) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> PostgresInstanceLocks.acquire(database(db, "test/x"), "test/x", Duration.ofMillis(1500)));

      assertTrue(e.getMessage().contains("gateway.ledger.origin"), e.getMessage());
      assertTrue(first.held());
    }
  }

  @Test
  void watermarks_perInstanceRows_readBackAndListed() throws Exception {
    String db = freshDatabase();
    DataSource ds = database(db, "test/w");
    org.fhirledger.ledger.jdbc.JdbcPatientSecretStore.open(ds, Clock.systemUTC(), new java.security.SecureRandom());
    JdbcWatermarkStore one = new JdbcWatermarkStore(ds, "test/one", Clock.systemUTC());
    JdbcWatermarkStore two = new JdbcWatermarkStore(ds, "test/two", Clock.systemUTC());

    assertEquals(OptionalLong.empty(), one.read());
    one.write(5);
    one.write(7);
    two.write(3);

    assertEquals(OptionalLong.of(7), one.read());
    assertEquals(OptionalLong.of(3), two.read());
    assertEquals(List.of("test/one", "test/two"), JdbcWatermarkStore.origins(ds));
  }
}
