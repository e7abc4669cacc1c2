package org.fhirledger.gateway.ledger;

import java.time.Clock;
import java.time.Duration;
import java.util.function.Function;
import javax.sql.DataSource;
import org.fhirledger.gateway.GatewayProperties;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * This gateway as one instance of several on a shared PostgreSQL ledger ({@code gateway.ledger.mode=shared-postgres}),
 * or nothing (every other mode): the shared database, this instance's lock ({@link PostgresInstanceLocks}), and,
 * once this instance has settled its own earlier writes, the checks for dead instances' writes ({@link
 * OrphanIntentReconciler}). Thread-safe; {@link #close} is idempotent.
 */
final class SharedLedgerInstance implements AutoCloseable {

  private final DataSource dataSource;
  private final String origin;
  private PostgresInstanceLocks locks;
  private OrphanIntentReconciler orphans;

  private SharedLedgerInstance(DataSource dataSource, String origin) {
    this.dataSource = dataSource;
    this.origin = origin;
  }

  /** Not a shared ledger. */
  static SharedLedgerInstance none() {
    return new SharedLedgerInstance(null, null);
  }

  /**
   * The shared database of {@code settings}, its connections named for this instance.
   *
   * @throws IllegalStateException if {@code jdbc-url} or {@code key-file} is missing
   */
  static SharedLedgerInstance of(GatewayProperties.SharedPostgres settings, String origin) {
    if (settings.jdbcUrl() == null || settings.keyFile() == null) {
      throw new IllegalStateException("gateway.ledger.mode=shared-postgres needs gateway.ledger.shared-postgres."
          + "jdbc-url (the PostgreSQL database every instance shares) and gateway.ledger.shared-postgres.key-file "
          + "(the log's signing key, the same file on every instance)");
    }
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(settings.jdbcUrl());
    if (settings.username() != null) {
      ds.setUser(settings.username());
    }
    if (settings.password() != null) {
      ds.setPassword(settings.password());
    }
    ds.setApplicationName(PostgresInstanceLocks.applicationName(origin));
    ds.setConnectTimeout(10);
    return new SharedLedgerInstance(ds, origin);
  }

  boolean shared() {
    return dataSource != null;
  }

  DataSource dataSource() {
    return dataSource;
  }

  /** Takes this instance's lock; call before anything is appended in its name. */
  synchronized void lock(Duration timeout) {
    if (locks == null) {
      locks = PostgresInstanceLocks.acquire(dataSource, origin, timeout);
    }
  }

  /** Starts settling dead instances' writes every {@code interval}. */
  synchronized void startOrphanChecks(Function<String, IntentReconciler> reconcilerFor, Clock clock,
      Duration interval) {
    if (orphans == null) {
      orphans = OrphanIntentReconciler.start(dataSource, locks, origin, reconcilerFor, clock, interval);
    }
  }

  @Override
  public synchronized void close() {
    if (orphans != null) {
      orphans.close();
      orphans = null;
    }
    if (locks != null) {
      locks.close();
      locks = null;
    }
  }
}
