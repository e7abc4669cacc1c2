package org.fhirledger.ledger.jdbc;

import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.PatientSecretStore;

/**
 * {@link PatientSecretStore} in the table {@code ledger_patient_secret} of the ledger's database (off the ledger
 * itself: rows can be deleted, which is the point). Thread-safe; each call is its own transaction.
 *
 * <p>Opened with {@link #openPooled}, it keeps its connections between calls (a new H2 session per lookup and per
 * insert showed in the gateway's profile) until {@link #close}; opened with {@link #open}, every call has a
 * connection of its own, and {@link #close} does nothing.
 */
public final class JdbcPatientSecretStore implements PatientSecretStore, AutoCloseable {
  private final DataSource dataSource;
  private final ConnectionPool pool;
  private final Clock clock;
  private final SecureRandom random;

  private JdbcPatientSecretStore(DataSource dataSource, ConnectionPool pool, Clock clock, SecureRandom random) {
    this.dataSource = dataSource;
    this.pool = pool;
    this.clock = clock;
    this.random = random;
  }

  /** Opens the store, migrating the ledger schema if needed; a connection per call. */
  public static JdbcPatientSecretStore open(DataSource dataSource, Clock clock, SecureRandom random)
      throws LedgerUnavailableException {
    Objects.requireNonNull(dataSource, "dataSource");
    Migrations.migrate(dataSource);
    return new JdbcPatientSecretStore(dataSource, null, Objects.requireNonNull(clock), Objects.requireNonNull(random));
  }

  /**
   * Opens the store, migrating the ledger schema if needed, keeping up to {@code maxIdle} connections open between
   * calls. Meant for a database in this process (H2): a pooled connection that fails is dropped, not retried, so
   * against a server that restarts each stale connection would fail one call. {@link #close} it when done.
   */
  public static JdbcPatientSecretStore openPooled(DataSource dataSource, Clock clock, SecureRandom random,
      int maxIdle) throws LedgerUnavailableException {
    Objects.requireNonNull(dataSource, "dataSource");
    Migrations.migrate(dataSource);
    return new JdbcPatientSecretStore(dataSource, new ConnectionPool(dataSource, maxIdle),
        Objects.requireNonNull(clock), Objects.requireNonNull(random));
  }

  /** Closes the pooled connections (those in use as they come back); later calls fail. Idempotent. */
  @Override
  public void close() {
    if (pool != null) {
      pool.close();
    }
  }

  @Override
  public byte[] secretFor(String patientReference) throws LedgerUnavailableException {
    check(patientReference);
    Optional<byte[]> existing = existingSecret(patientReference);
    if (existing.isPresent()) {
      return existing.get();
    }
    byte[] secret = new byte[32];
    random.nextBytes(secret);
    try {
      withConnection(c -> {
        try (PreparedStatement ps = c.prepareStatement(
            "INSERT INTO ledger_patient_secret (patient_ref, secret, created_at) VALUES (?, ?, ?)")) {
          ps.setString(1, patientReference);
          ps.setBytes(2, secret);
          ps.setTimestamp(3, Timestamp.from(clock.instant()));
          return ps.executeUpdate();
        }
      });
      return secret;
    } catch (SQLException e) {
      // Another thread or process created it first: use theirs, so a patient has exactly one live secret.
      Optional<byte[]> raced = existingSecret(patientReference);
      if (raced.isPresent()) {
        return raced.get();
      }
      throw new LedgerUnavailableException("cannot store a patient secret: " + e.getMessage(), e);
    }
  }

  @Override
  public Optional<byte[]> existingSecret(String patientReference) throws LedgerUnavailableException {
    check(patientReference);
    try {
      return withConnection(c -> {
        try (PreparedStatement ps = c.prepareStatement(
            "SELECT secret FROM ledger_patient_secret WHERE patient_ref = ?")) {
          ps.setString(1, patientReference);
          try (ResultSet rs = ps.executeQuery()) {
            return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.<byte[]>empty();
          }
        }
      });
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot read patient secrets: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean erase(String patientReference) throws LedgerUnavailableException {
    check(patientReference);
    try {
      return withConnection(c -> {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM ledger_patient_secret WHERE patient_ref = ?")) {
          ps.setString(1, patientReference);
          return ps.executeUpdate() > 0;
        }
      });
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot erase a patient secret: " + e.getMessage(), e);
    }
  }

  private interface SqlWork<T> {
    T run(Connection c) throws SQLException;
  }

  /**
   * Runs {@code work} on a connection in auto-commit mode (the pool's, or a new one), then gives it back to the pool
   * (closed instead if the work failed) or closes it.
   */
  private <T> T withConnection(SqlWork<T> work) throws SQLException {
    Connection c = pool != null ? pool.borrow() : dataSource.getConnection();
    boolean healthy = false;
    try {
      T result = work.run(c);
      healthy = true;
      return result;
    } finally {
      if (pool != null) {
        pool.giveBack(c, healthy);
      } else {
        ConnectionPool.closeQuietly(c);
      }
    }
  }

  private static void check(String patientReference) {
    Objects.requireNonNull(patientReference, "patientReference");
    if (patientReference.isEmpty() || patientReference.length() > 512) {
      throw new IllegalArgumentException("patient reference must be 1..512 characters");
    }
  }
}
