package org.fhirledger.ledger.jdbc;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import javax.sql.DataSource;

/**
 * A minimal pool of read connections, so that a proof costs a few indexed reads and not a connection set-up.
 * Thread-safe. Connections that failed are discarded rather than returned.
 */
final class ConnectionPool implements AutoCloseable {
  private final DataSource dataSource;
  private final BlockingQueue<Connection> idle;
  private volatile boolean closed;

  ConnectionPool(DataSource dataSource, int maxIdle) {
    this.dataSource = dataSource;
    this.idle = new ArrayBlockingQueue<>(maxIdle);
  }

  Connection borrow() throws SQLException {
    if (closed) {
      throw new SQLException("ledger storage is closed");
    }
    Connection c = idle.poll();
    if (c != null) {
      return c;
    }
    c = dataSource.getConnection();
    c.setAutoCommit(true);
    return c;
  }

  void giveBack(Connection c, boolean healthy) {
    if (closed || !healthy || !idle.offer(c)) {
      closeQuietly(c);
    }
  }

  @Override
  public void close() {
    closed = true;
    Connection c;
    while ((c = idle.poll()) != null) {
      closeQuietly(c);
    }
  }

  static void closeQuietly(Connection c) {
    try {
      c.close();
    } catch (SQLException ignored) {
      // closing is best effort
    }
  }
}
