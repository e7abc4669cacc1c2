package org.fhirledger.ledger.witness;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.fhirledger.ledger.LedgerUnavailableException;

/**
 * {@link WitnessStore} in the ledger's database (tables {@code ledger_witness_state}, {@code ledger_witness_evidence},
 * migrated with the ledger's schema: open the ledger storage on the database first). Thread-safe.
 */
public final class JdbcWitnessStore implements WitnessStore {
  private final DataSource dataSource;

  public JdbcWitnessStore(DataSource dataSource) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
  }

  @Override
  public Optional<Cosigned> latest(String origin) throws LedgerUnavailableException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement q = c.prepareStatement(
            "SELECT tree_size, root_hash FROM ledger_witness_state WHERE origin = ?")) {
      q.setString(1, origin);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next() ? Optional.of(new Cosigned(rs.getLong(1), rs.getBytes(2))) : Optional.empty();
      }
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot read the witness state: " + e.getMessage(), e);
    }
  }

  @Override
  public boolean compareAndSet(String origin, long oldSize, Cosigned next, Instant now)
      throws LedgerUnavailableException {
    try (Connection c = dataSource.getConnection()) {
      try (PreparedStatement up = c.prepareStatement(
          "UPDATE ledger_witness_state SET tree_size = ?, root_hash = ?, cosigned_at = ? "
              + "WHERE origin = ? AND tree_size = ?")) {
        up.setLong(1, next.size());
        up.setBytes(2, next.rootHash());
        up.setTimestamp(3, Timestamp.from(now));
        up.setString(4, origin);
        up.setLong(5, oldSize);
        if (up.executeUpdate() == 1) {
          return true;
        }
      }
      if (oldSize != 0) {
        return false;
      }
      try (PreparedStatement ins = c.prepareStatement(
          "INSERT INTO ledger_witness_state (origin, tree_size, root_hash, cosigned_at) VALUES (?, ?, ?, ?)")) {
        ins.setString(1, origin);
        ins.setLong(2, next.size());
        ins.setBytes(3, next.rootHash());
        ins.setTimestamp(4, Timestamp.from(now));
        ins.executeUpdate();
        return true;
      } catch (SQLException duplicate) {
        // another request recorded this origin first (primary key): the caller reports a conflict
        return false;
      }
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot store the witness state: " + e.getMessage(), e);
    }
  }

  @Override
  public void recordEvidence(Evidence e) throws LedgerUnavailableException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ins = c.prepareStatement("INSERT INTO ledger_witness_evidence "
            + "(origin, received_at, reason, checkpoint) VALUES (?, ?, ?, ?)")) {
      ins.setString(1, e.origin());
      ins.setTimestamp(2, Timestamp.from(e.receivedAt()));
      ins.setString(3, e.reason().length() > 1000 ? e.reason().substring(0, 1000) : e.reason());
      ins.setString(4, e.checkpoint().length() > 4000 ? e.checkpoint().substring(0, 4000) : e.checkpoint());
      ins.executeUpdate();
    } catch (SQLException ex) {
      throw new LedgerUnavailableException("cannot record witness evidence: " + ex.getMessage(), ex);
    }
  }

  @Override
  public List<Evidence> evidence(String origin, int limit) throws LedgerUnavailableException {
    try (Connection c = dataSource.getConnection();
        PreparedStatement q = c.prepareStatement("SELECT origin, received_at, reason, checkpoint FROM "
            + "ledger_witness_evidence WHERE origin = ? ORDER BY id LIMIT " + Math.max(1, limit))) {
      q.setString(1, origin);
      List<Evidence> out = new ArrayList<>();
      try (ResultSet rs = q.executeQuery()) {
        while (rs.next()) {
          out.add(new Evidence(rs.getString(1), rs.getTimestamp(2).toInstant(), rs.getString(3), rs.getString(4)));
        }
      }
      return out;
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot read witness evidence: " + e.getMessage(), e);
    }
  }
}
