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
 */
public final class JdbcPatientSecretStore implements PatientSecretStore {
  private final DataSource dataSource;
  private final Clock clock;
  private final SecureRandom random;

  private JdbcPatientSecretStore(DataSource dataSource, Clock clock, SecureRandom random) {
    this.dataSource = dataSource;
    this.clock = clock;
    this.random = random;
  }

  /** Opens the store, migrating the ledger schema if needed. */
  public static JdbcPatientSecretStore open(DataSource dataSource, Clock clock, SecureRandom random)
      throws LedgerUnavailableException {
    Objects.requireNonNull(dataSource, "dataSource");
    Migrations.migrate(dataSource);
    return new JdbcPatientSecretStore(dataSource, Objects.requireNonNull(clock), Objects.requireNonNull(random));
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
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
        "INSERT INTO ledger_patient_secret (patient_ref, secret, created_at) VALUES (?, ?, ?)")) {
      ps.setString(1, patientReference);
      ps.setBytes(2, secret);
      ps.setTimestamp(3, Timestamp.from(clock.instant()));
      ps.executeUpdate();
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
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
        "SELECT secret FROM ledger_patient_secret WHERE patient_ref = ?")) {
      ps.setString(1, patientReference);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
      }
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot read patient secrets: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean erase(String patientReference) throws LedgerUnavailableException {
    check(patientReference);
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
        "DELETE FROM ledger_patient_secret WHERE patient_ref = ?")) {
      ps.setString(1, patientReference);
      return ps.executeUpdate() > 0;
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot erase a patient secret: " + e.getMessage(), e);
    }
  }

  private static void check(String patientReference) {
    Objects.requireNonNull(patientReference, "patientReference");
    if (patientReference.isEmpty() || patientReference.length() > 512) {
      throw new IllegalArgumentException("patient reference must be 1..512 characters");
    }
  }
}
