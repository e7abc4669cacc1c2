package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class PendingIntentsTest {

  private final AtomicLong size = new AtomicLong(10);
  private final PendingIntents pending = new PendingIntents(size::get, 10);

  @Test
  void watermark_noIntents_followsCommittedSize() {
    size.set(15);

    assertEquals(15, pending.watermark());
  }

  @Test
  void watermark_intentAwaitingOutcome_heldAtTheIntent() {
    PendingIntents.Ticket ticket = pending.beforeIntent();
    pending.appended(ticket, 12);
    size.set(20);

    assertEquals(12, pending.watermark());
  }

  @Test
  void watermark_intentAppendInFlight_heldAtSizeWhenItStarted() {
    pending.beforeIntent();
    size.set(20);

    assertEquals(10, pending.watermark());
  }

  @Test
  void watermark_intentAppendFailed_heldForTheRestOfTheRun() {
    PendingIntents.Ticket ticket = pending.beforeIntent();
    pending.appendFailed(ticket);
    size.set(30);

    assertEquals(10, pending.watermark());
    assertEquals(1, pending.size());
  }

  @Test
  void watermark_outcomeRecorded_advancesPastTheIntent() {
    PendingIntents.Ticket ticket = pending.beforeIntent();
    pending.appended(ticket, 11);
    size.set(13);
    assertEquals(11, pending.watermark());

    pending.resolved(11);

    assertEquals(13, pending.watermark());
    assertEquals(0, pending.size());
  }
}
