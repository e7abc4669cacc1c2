package org.fhirledger.ledger.witness;

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

/**
 * The latest cosigned checkpoint of one log, in the ledger's database (table {@code ledger_cosigned_checkpoint}), so
 * that cosignatures survive a restart and are shared by the instances of a shared ledger. The stored tree size only
 * ever grows (a compare-and-set {@code UPDATE}). Thread-safe; each call is its own transaction. The stored note is
 * not trusted: readers verify it (see {@link CheckpointCosigning}).
 */
public final class JdbcCosignedCheckpoints {
  private final DataSource dataSource;
  private final String logOrigin;
  private final Clock clock;

  /** @param dataSource the ledger's database, already migrated (the ledger's storage migrates it on open) */
  public JdbcCosignedCheckpoints(DataSource dataSource, String logOrigin, Clock clock) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.logOrigin = Objects.requireNonNull(logOrigin, "logOrigin");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The stored note (checkpoint with cosignature lines), if any. */
  public Optional<String> latest() throws LedgerUnavailableException {
    try (Connection c = dataSource.getConnection(); PreparedStatement q = c.prepareStatement(
        "SELECT note FROM ledger_cosigned_checkpoint WHERE log_origin = ?")) {
      q.setString(1, logOrigin);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot read the cosigned checkpoint: " + e.getMessage(), e);
    }
  }

  /** Stores {@code note} unless a checkpoint of a larger tree is stored already. */
  public void offer(long treeSize, String note) throws LedgerUnavailableException {
    try (Connection c = dataSource.getConnection()) {
      for (int attempt = 0; attempt < 2; attempt++) {
        try (PreparedStatement u = c.prepareStatement("UPDATE ledger_cosigned_checkpoint SET tree_size = ?, note = ?, "
            + "updated_at = ? WHERE log_origin = ? AND tree_size <= ?")) {
          u.setLong(1, treeSize);
          u.setString(2, note);
          u.setTimestamp(3, Timestamp.from(clock.instant()));
          u.setString(4, logOrigin);
          u.setLong(5, treeSize);
          if (u.executeUpdate() > 0) {
            return;
          }
        }
        try (PreparedStatement e = c.prepareStatement(
            "SELECT 1 FROM ledger_cosigned_checkpoint WHERE log_origin = ?")) {
          e.setString(1, logOrigin);
          try (ResultSet rs = e.executeQuery()) {
            if (rs.next()) {
              return; // a larger tree's checkpoint is stored
            }
          }
        }
        try (PreparedStatement i = c.prepareStatement("INSERT INTO ledger_cosigned_checkpoint "
            + "(log_origin, tree_size, note, updated_at) VALUES (?, ?, ?, ?)")) {
          i.setString(1, logOrigin);
          i.setLong(2, treeSize);
          i.setString(3, note);
          i.setTimestamp(4, Timestamp.from(clock.instant()));
          i.executeUpdate();
          return;
        } catch (SQLException raced) {
          // another instance inserted first: compare with theirs
        }
      }
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot store the cosigned checkpoint: " + e.getMessage(), e);
    }
  }
}
