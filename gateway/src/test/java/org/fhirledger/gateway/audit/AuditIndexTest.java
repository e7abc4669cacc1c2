package org.fhirledger.gateway.audit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonym;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The audit index over a real H2 ledger: each key, their combination, catch-up, and rebuild after restart. */
class AuditIndexTest {

  private static final String ORIGIN = "index.test/ledger";
  private static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");
  private static final Pseudonym ALICE = pseudonym(1);
  private static final Pseudonym BOB = pseudonym(2);
  private static final Actor APP = new Actor("app", "Practitioner/7", "Organization/h");
  private static final Actor LAB = new Actor("lab", null, null);

  @TempDir Path dir;
  private Ledger ledger;

  @BeforeEach
  void openLedger() throws Exception {
    ledger = Ledgers.openH2(dir, ORIGIN, LedgerOptions.defaults());
    append(entry(Interaction.READ, APP, "Patient", "1", 0, ALICE));             // 0
    append(intent(Interaction.CREATE, LAB, 1));                                  // 1: intent, not an event
    append(outcome(Interaction.CREATE, LAB, "Observation", "9", 2, 1, ALICE));   // 2
    append(entry(Interaction.SEARCH, APP, "Observation", null, 3, ALICE, BOB));  // 3
    append(entry(Interaction.READ, LAB, "Patient", "2", -5, BOB));               // 4: clock skew, earlier time
  }

  @AfterEach
  void closeLedger() {
    ledger.close();
  }

  @Test
  void find_eachKey_returnsMatchingIndicesInLogOrder() throws Exception {
    AuditIndex index = new AuditIndex(ledger);

    assertArrayEquals(new long[] {0, 2, 3}, index.find(query(ALICE, null, null, null, null, null)));
    assertArrayEquals(new long[] {2, 4}, index.find(query(null, "lab", null, null, null, null)));
    assertArrayEquals(new long[] {0, 3}, index.find(query(null, "Practitioner/7", null, null, null, null)));
    assertArrayEquals(new long[] {4}, index.find(query(null, null, "Patient/2", null, null, null)));
    assertArrayEquals(new long[] {0, 4}, index.find(query(null, null, null, AuditEventAction.R, null, null)));
    assertArrayEquals(new long[] {0, 2, 3, 4}, index.find(query(null, null, null, null, null, null)));
  }

  @Test
  void find_combinedKeysAndTime_intersects() throws Exception {
    AuditIndex index = new AuditIndex(ledger);

    assertArrayEquals(new long[] {3}, index.find(query(BOB, "app", null, AuditEventAction.E, null, null)));
    assertArrayEquals(new long[] {2, 3}, index.find(query(ALICE, null, null, null, T0.plusSeconds(1), null)));
    assertArrayEquals(new long[] {0, 4}, index.find(query(null, null, null, null, null, T0)));
    assertArrayEquals(new long[] {}, index.find(query(pseudonym(3), null, null, null, null, null)));
  }

  @Test
  void find_afterMoreAppends_catchesUpWithoutRebuilding() throws Exception {
    AuditIndex index = new AuditIndex(ledger);
    index.find(query(BOB, null, null, null, null, null));

    append(entry(Interaction.DELETE, LAB, "Patient", "2", 10, BOB));

    assertArrayEquals(new long[] {3, 4, 5}, index.find(query(BOB, null, null, null, null, null)));
  }

  @Test
  void find_afterRestart_rebuildsTheSameIndexFromTheLog() throws Exception {
    long[] before = new AuditIndex(ledger).find(query(ALICE, null, null, null, null, null));
    ledger.close();

    ledger = Ledgers.openH2(dir, ORIGIN, LedgerOptions.defaults());

    assertArrayEquals(before, new AuditIndex(ledger).find(query(ALICE, null, null, null, null, null)));
  }

  private static AuditQuery query(Pseudonym p, String agent, String entity, AuditEventAction action, Instant from,
      Instant to) {
    return new AuditQuery(p, agent, entity, action, from, to);
  }

  private void append(EntryRecord record) throws Exception {
    ledger.append(EntryCodec.encode(record));
  }

  private static EntryRecord entry(Interaction interaction, Actor actor, String type, String id, int seconds,
      Pseudonym... patients) {
    return base(interaction, actor, type, id, seconds, patients).outcome(Outcome.SUCCESS, 200).build();
  }

  private static EntryRecord intent(Interaction interaction, Actor actor, int seconds) {
    return base(interaction, actor, "Observation", null, seconds).type(EntryType.INTENT).build();
  }

  private static EntryRecord outcome(Interaction interaction, Actor actor, String type, String id, int seconds,
      long intent, Pseudonym... patients) {
    return base(interaction, actor, type, id, seconds, patients).outcome(Outcome.SUCCESS, 201)
        .outcomeOfIntent(intent).build();
  }

  private static EntryRecord.Builder base(Interaction interaction, Actor actor, String type, String id, int seconds,
      Pseudonym... patients) {
    return EntryRecord.builder().time(T0.plusSeconds(seconds)).origin(ORIGIN).interaction(interaction)
        .resource(type, id, null).actor(actor).requestId("req-" + seconds).patients(List.of(patients));
  }

  static Pseudonym pseudonym(int b) {
    byte[] v = new byte[32];
    v[0] = (byte) b;
    return new Pseudonym(v);
  }
}
