package org.fhirledger.gateway.consent;

import org.fhirledger.gateway.MutableClock;
import static org.fhirledger.gateway.consent.ConsentFixtures.FHIR;
import static org.fhirledger.gateway.consent.ConsentFixtures.consent;
import static org.fhirledger.gateway.consent.ConsentFixtures.deny;
import static org.fhirledger.gateway.consent.ConsentFixtures.permit;
import static org.hl7.fhir.r4.model.Consent.ConsentState.ACTIVE;
import static org.hl7.fhir.r4.model.Consent.ConsentState.INACTIVE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.hl7.fhir.r4.model.IdType;
import org.junit.jupiter.api.Test;

/** The service over a live index: Consent changes take effect on the very next decision; fail-closed states. */
class IndexedConsentServiceTest {

  private static final ConsentPolicy OPT_IN = new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_IN, false);
  private static final ConsentRequest DR1_READS = new ConsentRequest("Patient/p1", "app-1",
      Set.of("Practitioner/dr1"), ConsentAction.ACCESS, Set.of("TREAT"));

  private final ConsentIndex index = new ConsentIndex(FHIR, null, 100);
  private final ConsentService service =
      new IndexedConsentService(index, OPT_IN, Clock.fixed(Instant.parse("2026-03-15T12:00:00Z"), ZoneOffset.UTC), FHIR);

  @Test
  void decide_indexNeverLoaded_deniesAsNotReady() {
    ConsentDecision d = service.decide(DR1_READS);
    assertEquals(ConsentDecision.Outcome.DENY, d.outcome());
    assertEquals(IndexedConsentService.NOT_READY, d.reason());
    assertFalse(index.inSync());
  }

  @Test
  void decide_notReady_deniesEvenTheBreakGlassAndTheSubject() {
    ConsentService lenient = new IndexedConsentService(index,
        new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_OUT, true), Clock.systemUTC(), FHIR);
    assertEquals(ConsentDecision.Outcome.DENY, lenient.decide(new ConsentRequest("Patient/p1", null,
        Set.of("Practitioner/dr1"), ConsentAction.ACCESS, Set.of("ETREAT"))).outcome());
    assertEquals(ConsentDecision.Outcome.DENY, lenient.decide(new ConsentRequest("Patient/p1", null,
        Set.of("Patient/p1"), ConsentAction.ACCESS, Set.of())).outcome());
  }

  @Test
  void onConsentWritten_revokedGrant_nextDecisionDenies() {
    index.load(List.of(consent("c1", "1", "Patient/p1", ACTIVE, permit().actor("Practitioner/dr1"))));
    assertEquals(ConsentDecision.Outcome.PERMIT, service.decide(DR1_READS).outcome());

    index.onConsentWritten(consent("c1", "2", "Patient/p1", INACTIVE, permit().actor("Practitioner/dr1")), false);

    ConsentDecision after = service.decide(DR1_READS);
    assertEquals(ConsentDecision.Outcome.DENY, after.outcome());
    assertEquals("2", index.versionOf("c1").orElseThrow().version());
  }

  @Test
  void onConsentWritten_deleted_nextDecisionFallsBackToDefault() {
    index.load(List.of(consent("c1", "1", "Patient/p1", ACTIVE, permit().actor("Practitioner/dr1"))));

    index.onConsentWritten(new IdType("Consent", "c1", "2"), true);

    assertEquals(ConsentDecision.Outcome.DENY, service.decide(DR1_READS).outcome());
    assertTrue(index.versionOf("c1").isEmpty());
  }

  @Test
  void onConsentWritten_olderVersionAfterNewer_isIgnored() {
    index.load(List.of());
    index.onConsentWritten(consent("c1", "3", "Patient/p1", ACTIVE, deny()), false);
    index.onConsentWritten(consent("c1", "2", "Patient/p1", ACTIVE, permit()), false);

    ConsentDecision d = service.decide(DR1_READS);
    assertEquals(ConsentDecision.Outcome.DENY, d.outcome());
    assertEquals(List.of("Consent/c1/_history/3"), d.basis().stream().map(ConsentVersion::reference).toList());
  }

  @Test
  void onConsentWritten_patientChanged_movesTheConsent() {
    index.load(List.of(consent("c1", "1", "Patient/p1", ACTIVE, permit())));
    index.onConsentWritten(consent("c1", "2", "Patient/p2", ACTIVE, permit()), false);

    assertEquals(ConsentDecision.Outcome.DENY, service.decide(DR1_READS).outcome());
    assertEquals(ConsentDecision.Outcome.PERMIT, service.decide(new ConsentRequest("Patient/p2", "app-1",
        Set.of("Practitioner/dr1"), ConsentAction.ACCESS, Set.of("TREAT"))).outcome());
  }

  @Test
  void grantExpires_atItsEnd_onTheNextDecision() {
    index.load(List.of(consent("c1", "1", "Patient/p1", ACTIVE,
        permit().period("2026-03-01T00:00:00Z", "2026-03-15T12:00:00Z"))));
    MutableClock clock = new MutableClock(Instant.parse("2026-03-15T11:59:59.999Z"));
    ConsentService timed = new IndexedConsentService(index, OPT_IN, clock, FHIR);
    assertEquals(ConsentDecision.Outcome.PERMIT, timed.decide(DR1_READS).outcome());

    clock.set(Instant.parse("2026-03-15T12:00:00Z"));

    assertEquals(ConsentDecision.Outcome.DENY, timed.decide(DR1_READS).outcome());
  }

  @Test
  void ledgerFields_filterDecision_carryDecisionAndEveryConsentVersion() {
    index.load(List.of(
        consent("c1", "4", "Patient/p1", ACTIVE, permit().clazz(Rule.RESOURCE_TYPES, "Observation")),
        consent("c2", "1", "Patient/p1", ACTIVE, deny().code(ConsentFixtures.LOINC, "75622-1"))));
    ConsentDecision d = service.decide(DR1_READS);

    EntryRecord entry = EntryRecord.builder().time(Instant.parse("2026-03-15T12:00:00Z")).origin("localhost/ledger")
        .interaction(Interaction.SEARCH).outcome(Outcome.SUCCESS, 200).actor(new Actor("app-1", null, null))
        .purposeOfUse("TREAT").consent(d.ledgerDecision(), d.ledgerReference()).requestId("r-1").build();
    EntryRecord decoded = EntryCodec.decode(EntryCodec.encode(entry));

    assertEquals(org.fhirledger.ledger.entry.ConsentDecision.PERMIT_FILTERED, decoded.consentDecision());
    assertEquals("Consent/c1/_history/4 Consent/c2/_history/1", decoded.consentReference());
  }

  @Test
  void ledgerFields_breakGlass_isItsOwnLedgerDecision() {
    index.load(List.of(consent("c1", "1", "Patient/p1", ACTIVE, deny())));
    ConsentService breakGlass = new IndexedConsentService(index,
        new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_IN, true), Clock.systemUTC(), FHIR);

    ConsentDecision d = breakGlass.decide(new ConsentRequest("Patient/p1", "app-1", Set.of("Practitioner/dr1"),
        ConsentAction.ACCESS, Set.of("ETREAT")));

    assertTrue(d.breakGlass());
    assertEquals(org.fhirledger.ledger.entry.ConsentDecision.BREAK_GLASS, d.ledgerDecision());
    assertEquals("Consent/c1/_history/1", d.ledgerReference());
  }

  @Test
  void ledgerFields_defaultDecision_hasNoReference() {
    index.load(List.of());
    ConsentDecision d = service.decide(DR1_READS);
    assertEquals(org.fhirledger.ledger.entry.ConsentDecision.DENY, d.ledgerDecision());
    assertNull(d.ledgerReference());
  }

  @Test
  void forInteraction_mapsRestInteractions() {
    assertEquals(ConsentAction.ACCESS, ConsentAction.forInteraction("read"));
    assertEquals(ConsentAction.ACCESS, ConsentAction.forInteraction("search-type"));
    assertEquals(ConsentAction.ACCESS, ConsentAction.forInteraction("history-instance"));
    assertEquals(ConsentAction.COLLECT, ConsentAction.forInteraction("create"));
    assertEquals(ConsentAction.CORRECT, ConsentAction.forInteraction("patch"));
    assertEquals(ConsentAction.CORRECT, ConsentAction.forInteraction("delete"));
    assertThrows(IllegalArgumentException.class, () -> ConsentAction.forInteraction("transaction"));
  }

  @Test
  void consentRequest_malformedReferences_areRejected() {
    assertThrows(IllegalArgumentException.class, () -> new ConsentRequest("Observation/1", null, Set.of(),
        ConsentAction.ACCESS, Set.of()));
    assertThrows(IllegalArgumentException.class, () -> new ConsentRequest("Patient/p1", null,
        Set.of("Group/g1"), ConsentAction.ACCESS, Set.of()));
  }

  /** A clock a test moves by hand. */
}
