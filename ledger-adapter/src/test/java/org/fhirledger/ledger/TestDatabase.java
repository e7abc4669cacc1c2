package org.fhirledger.ledger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import javax.sql.DataSource;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/** A real database engine handing out fresh, empty databases, each known by a JDBC URL. */
public interface TestDatabase extends AutoCloseable {
  /** The JDBC URL of a new empty database. */
  String freshUrl() throws Exception;

  String name();

  @Override
  void close() throws IOException;

  /** A data source for a URL from {@link #freshUrl}. */
  static DataSource dataSource(String url) {
    if (url.startsWith("jdbc:h2:")) {
      JdbcDataSource ds = new JdbcDataSource();
      ds.setURL(url);
      ds.setUser("ledger");
      ds.setPassword("");
      return ds;
    }
    PGSimpleDataSource ds = new PGSimpleDataSource();
    ds.setURL(url);
    return ds;
  }

  /** H2 file databases in a temporary directory, with the production URL settings. */
  static TestDatabase h2() throws IOException {
    Path root = Files.createTempDirectory("ledger-h2-");
    AtomicInteger n = new AtomicInteger();
    return new TestDatabase() {
      @Override
      public String freshUrl() throws IOException {
        return JdbcLedgerStorage.h2Url(Files.createDirectories(root.resolve("db" + n.incrementAndGet())));
      }

      @Override
      public String name() {
        return "H2";
      }

      @Override
      public void close() {
        // temp files stay for post-mortem; the OS cleans /tmp
      }
    };
  }

  /** Real PostgreSQL (zonky embedded binaries), started once, one database per call. */
  static TestDatabase postgres() throws IOException {
    EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
    AtomicInteger n = new AtomicInteger();
    return new TestDatabase() {
      @Override
      public String freshUrl() throws SQLException {
        String db = "ledger" + n.incrementAndGet();
        try (Connection c = pg.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
          s.execute("CREATE DATABASE " + db);
        }
        return pg.getJdbcUrl("postgres", db);
      }

      @Override
      public String name() {
        return "PostgreSQL";
      }

      @Override
      public void close() throws IOException {
        pg.close();
      }
    };
  }
}
