package org.fhirledger.ledger.jdbc;

import javax.sql.DataSource;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.flywaydb.core.Flyway;

/** Runs the ledger's one Flyway migration set ({@code db/ledger}, for H2 and PostgreSQL). Idempotent. */
final class Migrations {
  private Migrations() {}

  static void migrate(DataSource dataSource) throws LedgerUnavailableException {
    try {
      Flyway.configure()
          .dataSource(dataSource)
          .locations("classpath:db/ledger")
          .table("ledger_schema_history")
          .load()
          .migrate();
    } catch (RuntimeException e) {
      throw new LedgerUnavailableException("cannot migrate the ledger schema: " + e.getMessage(), e);
    }
  }
}
