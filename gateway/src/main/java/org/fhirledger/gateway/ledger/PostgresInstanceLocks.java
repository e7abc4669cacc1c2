package org.fhirledger.gateway.ledger;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Liveness of the gateway instances sharing one PostgreSQL ledger, by PostgreSQL session advisory locks: a running
 * instance holds the lock named by its origin for its whole life, on a connection of its own. PostgreSQL releases it
 * when the instance's session ends, which a crash (SIGKILL, lost host) does as surely as a clean stop. So a survivor
 * that can take another instance's lock knows that instance is not running, and that until it lets go, that instance
 * cannot start again (its start waits for its own lock).
 *
 * <p>Every connection of an instance carries the PostgreSQL {@code application_name} {@link #applicationName} of
 * its origin; a claim on a dead instance also waits until no session of that name is left, so that every
 * transaction the dead instance had sent is committed or rolled back before its intents are read.
 *
 * <p>Thread-safe.
 */
final class PostgresInstanceLocks implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(PostgresInstanceLocks.class);
  private static final int LOCK_CLASS = 0x47574159; // "GWAY"

  private final DataSource dataSource;
  private final String origin;
  private Connection own;

  private PostgresInstanceLocks(DataSource dataSource, String origin) {
    this.dataSource = dataSource;
    this.origin = origin;
  }

  /**
   * Takes this instance's own lock, waiting up to {@code timeout} (a survivor may be settling this instance's intents
   * of an earlier run).
   *
   * @throws IllegalStateException if another live instance holds it (same {@code gateway.ledger.origin}) or the
   *     database cannot be reached; the gateway does not start
   */
  static PostgresInstanceLocks acquire(DataSource dataSource, String origin, Duration timeout) {
    PostgresInstanceLocks locks = new PostgresInstanceLocks(Objects.requireNonNull(dataSource, "dataSource"),
        Objects.requireNonNull(origin, "origin"));
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      Connection c = dataSource.getConnection();
      c.setAutoCommit(true);
      try (Statement s = c.createStatement()) {
        s.execute("SET lock_timeout = '1s'");
      }
      while (true) {
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_lock(?, ?)")) {
          ps.setInt(1, LOCK_CLASS);
          ps.setInt(2, key(origin));
          ps.execute();
          break;
        } catch (SQLException e) {
          if (!"55P03".equals(e.getSQLState()) || System.nanoTime() > deadline) {
            c.close();
            throw e;
          }
        }
      }
      locks.own = c;
      return locks;
    } catch (SQLException e) {
      throw new IllegalStateException("Cannot start as instance " + origin + " of the shared ledger: "
          + ("55P03".equals(e.getSQLState())
              ? "another running gateway instance uses this gateway.ledger.origin; give each instance its own"
              : "the database failed (" + e.getMessage() + ")"), e);
    }
  }

  /** Whether this instance still holds its lock (its connection is alive). */
  synchronized boolean held() {
    try {
      return own != null && own.isValid(5);
    } catch (SQLException e) {
      return false;
    }
  }

  /**
   * Claims a dead instance: takes its lock if nobody holds it and none of its sessions are left.
   *
   * @return the claim, to close once its intents are settled; empty if that instance (or a survivor settling it) is
   *     alive
   */
  Optional<Claim> claimIfDead(String other) throws SQLException {
    if (other.equals(origin)) {
      return Optional.empty();
    }
    Connection c = dataSource.getConnection();
    try {
      c.setAutoCommit(true);
      boolean locked;
      try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
        ps.setInt(1, LOCK_CLASS);
        ps.setInt(2, key(other));
        try (ResultSet rs = ps.executeQuery()) {
          locked = rs.next() && rs.getBoolean(1);
        }
      }
      if (!locked) {
        c.close();
        return Optional.empty();
      }
      try (PreparedStatement ps = c.prepareStatement(
          "SELECT count(*) FROM pg_stat_activity WHERE application_name = ?")) {
        ps.setString(1, applicationName(other));
        try (ResultSet rs = ps.executeQuery()) {
          if (rs.next() && rs.getLong(1) > 0) {
            c.close(); // its last transactions are still ending; try again next time
            return Optional.empty();
          }
        }
      }
      return Optional.of(new Claim(c));
    } catch (SQLException | RuntimeException e) {
      c.close();
      throw e;
    }
  }

  /** A dead instance claimed by this one; closing ends the session and so releases its lock. */
  static final class Claim implements AutoCloseable {
    private final Connection connection;

    private Claim(Connection connection) {
      this.connection = connection;
    }

    @Override
    public void close() {
      try {
        connection.close();
      } catch (SQLException e) {
        log.debug("closing a claim: {}", e.getMessage());
      }
    }
  }

  /** The PostgreSQL {@code application_name} of every connection of the instance {@code origin}: no PHI, 19 chars. */
  static String applicationName(String origin) {
    return "gw-" + HexFormat.of().formatHex(sha256(origin), 0, 8);
  }

  private static int key(String origin) {
    byte[] h = sha256("fhir-gateway-instance:" + origin);
    return ((h[0] & 0xFF) << 24) | ((h[1] & 0xFF) << 16) | ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Releases this instance's lock (its session ends). */
  @Override
  public synchronized void close() {
    if (own != null) {
      try {
        own.close();
      } catch (SQLException e) {
        log.debug("closing the instance lock: {}", e.getMessage());
      }
      own = null;
    }
  }
}
