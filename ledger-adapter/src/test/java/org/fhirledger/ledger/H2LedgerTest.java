package org.fhirledger.ledger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

class H2LedgerTest extends LedgerContractTest {
  private static TestDatabase db;

  @BeforeAll
  static void start() throws Exception {
    db = TestDatabase.h2();
  }

  @AfterAll
  static void stop() throws Exception {
    db.close();
  }

  @Override
  TestDatabase database() {
    return db;
  }
}
