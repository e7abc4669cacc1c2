package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WatermarkKeeperTest {

  @TempDir Path dir;

  @Test
  void close_watermarkMovedSinceLastTick_storedOnShutdown() throws Exception {
    AtomicLong size = new AtomicLong(4);
    WatermarkFile file = new WatermarkFile(dir, "keeper.test/ledger");
    file.write(4);
    WatermarkKeeper keeper = WatermarkKeeper.start(new PendingIntents(size::get, 4), file, 4, Duration.ofHours(1));
    PendingIntents.Ticket ticket = keeper.pending().beforeIntent();
    keeper.pending().appended(ticket, 4);
    size.set(9);

    keeper.close();

    assertEquals(OptionalLong.of(4), file.read(), "held at the intent still waiting for its outcome");
  }

  @Test
  void persist_allIntentsSettled_storesCommittedSize() throws Exception {
    AtomicLong size = new AtomicLong(0);
    WatermarkFile file = new WatermarkFile(dir, "keeper.test/ledger");
    try (WatermarkKeeper keeper = WatermarkKeeper.start(new PendingIntents(size::get, 0), file, 0, Duration.ofHours(1))) {
      PendingIntents.Ticket ticket = keeper.pending().beforeIntent();
      keeper.pending().appended(ticket, 0);
      keeper.pending().resolved(0);
      size.set(2);

      keeper.persist();

      assertEquals(OptionalLong.of(2), file.read());
    }
  }
}
