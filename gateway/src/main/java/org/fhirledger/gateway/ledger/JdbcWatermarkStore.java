package org.fhirledger.gateway.ledger;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import javax.sql.DataSource;

/**
 * One gateway instance's reconciliation watermark in the shared PostgreSQL ledger's database (table
 * {@code ledger_reconcile_watermark}, one row per instance origin), so that a survivor can settle a dead instance's
 * intents from where that instance got to. Each call is its own transaction; not thread-safe per instance (the
 * caller serialises writes, and {@link PostgresInstanceLocks} makes sure only one process writes a given row).
 */
final class JdbcWatermarkStore implements WatermarkStore {

  private final DataSource dataSource;
  private final String origin;
  private final Clock clock;

  JdbcWatermarkStore(DataSource dataSource, String origin, Clock clock) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.origin = Objects.requireNonNull(origin, "origin");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public OptionalLong read() {
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
        "SELECT watermark FROM ledger_reconcile_watermark WHERE origin = ?")) {
      ps.setString(1, origin);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? OptionalLong.of(rs.getLong(1)) : OptionalLong.empty();
      }
    } catch (SQLException e) {
      return OptionalLong.empty();
    }
  }

  @Override
  public void write(long watermark) throws IOException {
    if (watermark < 0) {
      throw new IllegalArgumentException("watermark must be >= 0");
    }
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
        "INSERT INTO ledger_reconcile_watermark (origin, watermark, updated_at) VALUES (?, ?, ?) "
            + "ON CONFLICT (origin) DO UPDATE SET watermark = EXCLUDED.watermark, updated_at = EXCLUDED.updated_at")) {
      ps.setString(1, origin);
      ps.setLong(2, watermark);
      ps.setTimestamp(3, Timestamp.from(clock.instant()));
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IOException("cannot store the reconciliation watermark: " + e.getMessage(), e);
    }
  }

  /** The origins of every instance that ever stored a watermark in this database. */
  static List<String> origins(DataSource dataSource) throws SQLException {
    List<String> out = new ArrayList<>();
    try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(
        "SELECT origin FROM ledger_reconcile_watermark ORDER BY origin"); ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        out.add(rs.getString(1));
      }
    }
    return out;
  }
}
