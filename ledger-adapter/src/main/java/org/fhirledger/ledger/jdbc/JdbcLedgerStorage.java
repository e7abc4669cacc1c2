package org.fhirledger.ledger.jdbc;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Clock;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;
import org.fhirledger.ledger.LedgerFencedException;
import org.fhirledger.ledger.LedgerStorage;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.tiles.Tiles;
import org.h2.jdbcx.JdbcDataSource;

/**
 * {@link LedgerStorage} on JDBC, for H2 (file database, the default) and PostgreSQL, with the schema migrated by
 * Flyway from {@code db/ledger} (history table {@code ledger_schema_history}).
 *
 * <p><b>Single writer:</b> the row {@code ledger_state} holds the writer epoch and the tree size. Taking the log over
 * raises the epoch; every batch transaction first runs
 * {@code UPDATE ledger_state SET tree_size = new WHERE writer_epoch = mine AND tree_size = old}, which row-locks the
 * state and commits nothing unless this writer is still the one and the tree is where it left it. A second process is
 * thereby fenced, never interleaved. (On H2 a file database is also locked by the first process that opens it.)
 *
 * <p><b>Durability:</b> a batch is one transaction. On H2 the URL built by {@link #h2} sets {@code WRITE_DELAY=0}
 * so the store is written at every commit (survives a killed process; see README for power loss), and
 * {@code MAX_COMPACT_TIME=0}. On PostgreSQL,
 * commit waits for the WAL flush ({@code synchronous_commit} on, the default).
 *
 * <p>Thread-safe. Full tiles are immutable and cached.
 */
public final class JdbcLedgerStorage implements LedgerStorage {
  private static final int TILE_CACHE = 8192;
  private static final int BATCH_ROW_CACHE = 8;

  private final DataSource dataSource;
  private final Clock clock;
  private final ConnectionPool readers;
  private final Object writerLock = new Object();
  // A tile of a given width never changes once committed (a new width is a new row), so tiles are cached by
  // (level, index, width); so are decoded batch rows, which sequential bundle reads revisit.
  private final Map<Long, byte[]> tiles = new LinkedHashMap<>(256, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
      return size() > TILE_CACHE;
    }
  };
  private final Map<Long, List<byte[]>> batchRows = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, List<byte[]>> eldest) {
      return size() > BATCH_ROW_CACHE;
    }
  };
  private Connection writer;

  private JdbcLedgerStorage(DataSource dataSource, Clock clock) {
    this.dataSource = dataSource;
    this.clock = clock;
    this.readers = new ConnectionPool(dataSource, 16);
  }

  /**
   * Opens storage on {@code dataSource}, migrating the schema first.
   *
   * @throws LedgerUnavailableException if the database cannot be reached or migrated
   */
  public static JdbcLedgerStorage open(DataSource dataSource, Clock clock) throws LedgerUnavailableException {
    Objects.requireNonNull(dataSource, "dataSource");
    Objects.requireNonNull(clock, "clock");
    Migrations.migrate(dataSource);
    return new JdbcLedgerStorage(dataSource, clock);
  }

  /**
   * Opens storage on {@code dataSource} whose schema this process has migrated already (a sequencer lease taken
   * again and again must not run Flyway every time).
   */
  static JdbcLedgerStorage openMigrated(DataSource dataSource, Clock clock) {
    return new JdbcLedgerStorage(Objects.requireNonNull(dataSource, "dataSource"), Objects.requireNonNull(clock));
  }

  /**
   * A data source for the H2 file database {@code <dataDir>/ledger.mv.db}, with every commit written to the file
   * ({@code WRITE_DELAY=0}).
   */
  public static DataSource h2(Path dataDir) {
    JdbcDataSource ds = new JdbcDataSource();
    ds.setURL(h2Url(dataDir));
    ds.setUser("ledger");
    ds.setPassword("");
    return ds;
  }

  /**
   * The JDBC URL {@link #h2} uses. {@code WRITE_DELAY=0}: every commit is written to the file before it returns.
   * {@code MAX_COMPACT_TIME=0}: no chunk-moving compaction when the database closes; after a killed process, H2
   * 2.3.232's close-time compaction was seen to fail ("Double mark") and leave the file unreadable.
   */
  public static String h2Url(Path dataDir) {
    return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("ledger") + ";WRITE_DELAY=0;MAX_COMPACT_TIME=0";
  }

  @Override
  public WriterState acquireWriter(String owner) throws LedgerUnavailableException {
    synchronized (writerLock) {
      try {
        if (writer == null || writer.isClosed()) {
          writer = dataSource.getConnection();
          writer.setAutoCommit(false);
          writer.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        }
        try (PreparedStatement up = writer.prepareStatement(
            "UPDATE ledger_state SET writer_epoch = writer_epoch + 1, writer_owner = ?, writer_since = ? WHERE id = 1")) {
          up.setString(1, owner.length() > 255 ? owner.substring(0, 255) : owner);
          up.setTimestamp(2, Timestamp.from(clock.instant()));
          if (up.executeUpdate() != 1) {
            throw new LedgerUnavailableException("ledger_state row is missing; the schema is damaged");
          }
        }
        WriterState state;
        try (PreparedStatement q = writer.prepareStatement(
            "SELECT writer_epoch, tree_size FROM ledger_state WHERE id = 1");
            ResultSet rs = q.executeQuery()) {
          rs.next();
          state = new WriterState(rs.getLong(1), rs.getLong(2));
        }
        writer.commit();
        return state;
      } catch (SQLException e) {
        rollbackQuietly();
        throw new LedgerUnavailableException("cannot take the ledger over as writer: " + e.getMessage(), e);
      }
    }
  }

  @Override
  public WriterState readState() throws LedgerUnavailableException {
    return read(c -> {
      try (PreparedStatement q = c.prepareStatement("SELECT writer_epoch, tree_size FROM ledger_state WHERE id = 1");
          ResultSet rs = q.executeQuery()) {
        if (!rs.next()) {
          throw new LedgerUnavailableException("ledger_state row is missing; the schema is damaged");
        }
        return new WriterState(rs.getLong(1), rs.getLong(2));
      }
    });
  }

  @Override
  public void commitBatch(Batch batch) throws LedgerUnavailableException {
    commit(batch, null);
  }

  @Override
  public void commitBatch(Batch batch, ConsensusPosition position) throws LedgerUnavailableException {
    commit(batch, Objects.requireNonNull(position, "position"));
  }

  @Override
  public ConsensusPosition consensusPosition() throws LedgerUnavailableException {
    return read(c -> {
      try (PreparedStatement q = c.prepareStatement(
          "SELECT consensus_term, consensus_index FROM ledger_state WHERE id = 1");
          ResultSet rs = q.executeQuery()) {
        if (!rs.next()) {
          throw new LedgerUnavailableException("ledger_state row is missing; the schema is damaged");
        }
        return new ConsensusPosition(rs.getLong(1), rs.getLong(2));
      }
    });
  }

  private void commit(Batch batch, ConsensusPosition position) throws LedgerUnavailableException {
    synchronized (writerLock) {
      if (writer == null) {
        throw new IllegalStateException("acquireWriter first");
      }
      try {
        try (PreparedStatement cas = writer.prepareStatement(position == null
            ? "UPDATE ledger_state SET tree_size = ? WHERE id = 1 AND writer_epoch = ? AND tree_size = ?"
            : "UPDATE ledger_state SET tree_size = ?, consensus_term = ?, consensus_index = ? "
                + "WHERE id = 1 AND writer_epoch = ? AND tree_size = ?")) {
          int i = 1;
          cas.setLong(i++, batch.newSize());
          if (position != null) {
            cas.setLong(i++, position.term());
            cas.setLong(i++, position.index());
          }
          cas.setLong(i++, batch.epoch());
          cas.setLong(i, batch.oldSize());
          if (cas.executeUpdate() != 1) {
            String now = describeState();
            writer.rollback();
            throw new LedgerFencedException("writer epoch " + batch.epoch() + " expected tree size "
                + batch.oldSize() + " but the log is now " + now + ": another writer took over; refusing to append");
          }
        }
        if (!batch.entries().isEmpty()) {
          try (PreparedStatement ins = writer.prepareStatement(
              "INSERT INTO ledger_entries (first_idx, entry_count, data) VALUES (?, ?, ?)")) {
            ins.setLong(1, batch.oldSize());
            ins.setInt(2, batch.entries().size());
            ins.setBytes(3, EntryBundles.encode(batch.entries()));
            ins.executeUpdate();
          }
        }
        if (!batch.tiles().isEmpty()) {
          boolean anyFull = false;
          try (PreparedStatement ins = writer.prepareStatement(
              "INSERT INTO ledger_tile (tile_level, tile_index, width, hashes) VALUES (?, ?, ?, ?)")) {
            for (TileWrite t : batch.tiles()) {
              ins.setInt(1, t.level());
              ins.setLong(2, t.index());
              ins.setInt(3, t.width());
              ins.setBytes(4, t.hashes());
              ins.addBatch();
              anyFull |= t.width() == Tiles.WIDTH;
            }
            ins.executeBatch();
          }
          if (anyFull) {
            // tlog-tiles lets a log drop partial tiles once the full tile exists; readers answer from its prefix.
            try (PreparedStatement del = writer.prepareStatement(
                "DELETE FROM ledger_tile WHERE tile_level = ? AND tile_index = ? AND width < 256")) {
              for (TileWrite t : batch.tiles()) {
                if (t.width() == Tiles.WIDTH) {
                  del.setInt(1, t.level());
                  del.setLong(2, t.index());
                  del.addBatch();
                }
              }
              del.executeBatch();
            }
          }
        }
        if (batch.newSize() == batch.oldSize() && position != null && hasCheckpoint(batch.newSize())) {
          writer.commit();
          return;
        }
        try (PreparedStatement ins = writer.prepareStatement(
            "INSERT INTO ledger_checkpoint (tree_size, note) VALUES (?, ?)")) {
          ins.setLong(1, batch.newSize());
          ins.setString(2, batch.checkpointNote());
          ins.executeUpdate();
        }
        writer.commit();
      } catch (SQLException e) {
        rollbackQuietly();
        throw new LedgerUnavailableException("batch [" + batch.oldSize() + ", " + batch.newSize()
            + ") was not committed: " + e.getMessage(), e);
      }
    }
  }

  private boolean hasCheckpoint(long size) throws SQLException {
    try (PreparedStatement q = writer.prepareStatement("SELECT 1 FROM ledger_checkpoint WHERE tree_size = ?")) {
      q.setLong(1, size);
      try (ResultSet rs = q.executeQuery()) {
        return rs.next();
      }
    }
  }

  private String describeState() {
    try (PreparedStatement q = writer.prepareStatement(
        "SELECT writer_epoch, writer_owner, tree_size FROM ledger_state WHERE id = 1");
        ResultSet rs = q.executeQuery()) {
      rs.next();
      return "epoch " + rs.getLong(1) + " (" + rs.getString(2) + ") at tree size " + rs.getLong(3);
    } catch (SQLException e) {
      return "unreadable (" + e.getMessage() + ")";
    }
  }

  private void rollbackQuietly() {
    try {
      if (writer != null && !writer.isClosed()) {
        writer.rollback();
      }
    } catch (SQLException ignored) {
      // the connection is broken; the next acquire opens a new one
      ConnectionPool.closeQuietly(writer);
      writer = null;
    }
  }

  @Override
  public byte[] tile(int level, long index, int width) throws LedgerUnavailableException {
    long key = (index << 15) | ((long) width << 6) | level;
    synchronized (tiles) {
      byte[] t = tiles.get(key);
      if (t != null) {
        return t.clone();
      }
    }
    byte[] t = readTile(level, index, width);
    synchronized (tiles) {
      tiles.put(key, t.clone());
    }
    return t;
  }

  /** Reads a tile straight from the database, bypassing the cache (for verifiers). */
  public byte[] readTile(int level, long index, int width) throws LedgerUnavailableException {
    return read(c -> {
      try (PreparedStatement q = c.prepareStatement(
          "SELECT width, hashes FROM ledger_tile WHERE tile_level = ? AND tile_index = ? AND width >= ? "
              + "ORDER BY width DESC LIMIT 1")) {
        q.setInt(1, level);
        q.setLong(2, index);
        q.setInt(3, width);
        try (ResultSet rs = q.executeQuery()) {
          if (!rs.next()) {
            throw new LedgerUnavailableException("tile " + Tiles.tilePath(level, index, width) + " is not stored");
          }
          int stored = rs.getInt(1);
          byte[] h = rs.getBytes(2);
          if (stored == width) {
            return h;
          }
          byte[] prefix = new byte[Math.min(h.length, width * 32)];
          System.arraycopy(h, 0, prefix, 0, prefix.length);
          return prefix;
        }
      }
    });
  }

  @Override
  public byte[] entryBundle(long index, int width) throws LedgerUnavailableException {
    return EntryBundles.encode(entries(index * Tiles.WIDTH, index * Tiles.WIDTH + width));
  }

  @Override
  public List<byte[]> entries(long from, long to) throws LedgerUnavailableException {
    if (from < 0 || from > to) {
      throw new IllegalArgumentException("bad entry range [" + from + ", " + to + ")");
    }
    if (from == to) {
      return List.of();
    }
    return read(c -> {
      long start;
      // Not MAX(first_idx): H2 answers that by scanning every earlier row (reading their data pages); a
      // descending index scan with LIMIT 1 reads one row on H2 and PostgreSQL alike.
      try (PreparedStatement q = c.prepareStatement(
          "SELECT first_idx FROM ledger_entries WHERE first_idx <= ? ORDER BY first_idx DESC LIMIT 1")) {
        q.setLong(1, from);
        try (ResultSet rs = q.executeQuery()) {
          if (!rs.next()) {
            throw new LedgerUnavailableException("entry " + from + " is not stored");
          }
          start = rs.getLong(1);
        }
      }
      List<byte[]> out = new ArrayList<>((int) (to - from));
      long expect = start;
      List<byte[]> cached;
      synchronized (batchRows) {
        cached = batchRows.get(start);
      }
      if (cached != null && start + cached.size() >= to) {
        for (byte[] e : cached.subList((int) (from - start), (int) (to - start))) {
          out.add(e.clone());
        }
        return out;
      }
      try (PreparedStatement q = c.prepareStatement(
          "SELECT first_idx, entry_count, data FROM ledger_entries WHERE first_idx >= ? AND first_idx < ? "
              + "ORDER BY first_idx")) {
        q.setLong(1, start);
        q.setLong(2, to);
        try (ResultSet rs = q.executeQuery()) {
          while (rs.next()) {
            long first = rs.getLong(1);
            int count = rs.getInt(2);
            if (first != expect) {
              throw new LedgerUnavailableException("entries [" + expect + ", " + first + ") are not stored");
            }
            List<byte[]> batch = decodeStored(rs.getBytes(3), count, first);
            synchronized (batchRows) {
              batchRows.put(first, batch);
            }
            for (int i = 0; i < count; i++) {
              long idx = first + i;
              if (idx >= from && idx < to) {
                out.add(batch.get(i).clone());
              }
            }
            expect = first + count;
          }
        }
      }
      if (out.size() != to - from) {
        throw new LedgerUnavailableException("entries [" + (from + out.size()) + ", " + to + ") are not stored");
      }
      return out;
    });
  }

  private static List<byte[]> decodeStored(byte[] data, int count, long first) throws LedgerUnavailableException {
    try {
      return EntryBundles.decode(data, count, "stored entries from " + first);
    } catch (org.fhirledger.ledger.LedgerVerificationException e) {
      throw new LedgerUnavailableException(e.getMessage(), e);
    }
  }

  @Override
  public Optional<String> checkpoint(long treeSize) throws LedgerUnavailableException {
    return read(c -> {
      try (PreparedStatement q = c.prepareStatement("SELECT note FROM ledger_checkpoint WHERE tree_size = ?")) {
        q.setLong(1, treeSize);
        try (ResultSet rs = q.executeQuery()) {
          return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
        }
      }
    });
  }

  @Override
  public Optional<String> latestCheckpoint() throws LedgerUnavailableException {
    return read(c -> {
      try (PreparedStatement q = c.prepareStatement(
          "SELECT note FROM ledger_checkpoint ORDER BY tree_size DESC LIMIT 1");
          ResultSet rs = q.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    });
  }

  @Override
  public List<Long> checkpointSizes(long from, long to, int limit) throws LedgerUnavailableException {
    return read(c -> {
      try (PreparedStatement q = c.prepareStatement(
          "SELECT tree_size FROM ledger_checkpoint WHERE tree_size >= ? AND tree_size <= ? ORDER BY tree_size "
              + "LIMIT " + Math.max(1, limit))) {
        q.setLong(1, from);
        q.setLong(2, to);
        try (ResultSet rs = q.executeQuery()) {
          List<Long> out = new ArrayList<>();
          while (rs.next()) {
            out.add(rs.getLong(1));
          }
          return out;
        }
      }
    });
  }

  /** The data source this storage uses (for the patient secret store, which shares the database). */
  public DataSource dataSource() {
    return dataSource;
  }

  private interface Query<T> {
    T run(Connection c) throws SQLException, LedgerUnavailableException;
  }

  private <T> T read(Query<T> query) throws LedgerUnavailableException {
    Connection c;
    try {
      c = readers.borrow();
    } catch (SQLException e) {
      throw new LedgerUnavailableException("cannot connect to the ledger database: " + e.getMessage(), e);
    }
    boolean healthy = false;
    try {
      T result = query.run(c);
      healthy = true;
      return result;
    } catch (SQLException e) {
      throw new LedgerUnavailableException("ledger database read failed: " + e.getMessage(), e);
    } catch (LedgerUnavailableException e) {
      healthy = true;
      throw e;
    } finally {
      readers.giveBack(c, healthy);
    }
  }

  @Override
  public void close() {
    readers.close();
    synchronized (writerLock) {
      if (writer != null) {
        rollbackQuietly();
        if (writer != null) {
          ConnectionPool.closeQuietly(writer);
        }
        writer = null;
      }
    }
  }
}
