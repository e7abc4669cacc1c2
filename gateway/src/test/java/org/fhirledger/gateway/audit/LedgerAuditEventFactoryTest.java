package org.fhirledger.gateway.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.ConsentDecision;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.AuditEvent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every shape of ledger entry renders to an AuditEvent that HAPI's validator accepts against the
 * gateway's profile with zero errors: every interaction, every outcome, with and without user,
 * organization, purpose, consent, resource, version, digest and patients.
 */
class LedgerAuditEventFactoryTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static FhirValidator validator;
  private final LedgerAuditEventFactory factory = new LedgerAuditEventFactory();

  @BeforeAll
  static void buildValidator() {
    validator = FHIR.newValidator()
        .registerValidatorModule(new FhirInstanceValidator(GatewayProfiles.validationSupport(FHIR)));
  }

  @Test
  void build_everyInteractionOutcomeAndOptionalField_validatesWithoutErrors() {
    Pseudonym alice = AuditIndexTest.pseudonym(1);
    List<String> failures = new ArrayList<>();
    int built = 0;
    for (Interaction interaction : Interaction.values()) {
      for (Outcome outcome : Outcome.values()) {
        for (boolean full : new boolean[] {false, true}) {
          EntryRecord record = record(interaction, outcome, full, alice);
          AuditEvent event = factory.build(42, record, full ? Map.of(alice, "Patient/1") : Map.of());
          built++;
          List<SingleValidationMessage> errors = validator.validateWithResult(event).getMessages().stream()
              .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal()).toList();
          if (!errors.isEmpty()) {
            failures.add(interaction + "/" + outcome + "/" + full + ": " + errors);
          }
        }
      }
    }

    assertEquals(List.of(), failures);
    assertEquals(Interaction.values().length * Outcome.values().length * 2, built);
  }

  @Test
  void build_deleteDenied_balpCodesAndLedgerEntry() {
    EntryRecord record = record(Interaction.DELETE, Outcome.DENIED, true, AuditIndexTest.pseudonym(1));

    AuditEvent event = factory.build(7, record, Map.of());

    assertEquals("7", event.getIdElement().getIdPart());
    assertEquals("delete", event.getSubtypeFirstRep().getCode());
    assertEquals(AuditEvent.AuditEventAction.D, event.getAction());
    assertEquals(AuditEvent.AuditEventOutcome._4, event.getOutcome());
    assertEquals("7", event.getExtensionByUrl(GatewayProfiles.LEDGER_ENTRY).getExtensionByUrl("index")
        .getValue().primitiveValue());
  }

  @Test
  void build_intent_refused() {
    EntryRecord intent = EntryRecord.builder().type(EntryType.INTENT).time(Instant.EPOCH).origin("o")
        .interaction(Interaction.CREATE).actor(new Actor("app", null, null)).requestId("r").build();

    assertThrows(IllegalArgumentException.class, () -> factory.build(1, intent, Map.of()));
  }

  private static EntryRecord record(Interaction interaction, Outcome outcome, boolean full, Pseudonym patient) {
    int status = switch (outcome) {
      case SUCCESS -> 200;
      case DENIED -> 403;
      case FAILED -> full ? 503 : 400;
    };
    EntryRecord.Builder b = EntryRecord.builder().time(Instant.parse("2026-11-25T10:00:00.123Z")).origin("o.test/ledger")
        .interaction(interaction).outcome(outcome, status).requestId("req-1")
        .actor(full ? new Actor("app", "Practitioner/7", "Organization/h") : new Actor("app", null, null));
    if (full) {
      b.resource("Observation", "9", "2").contentSha256(new byte[32]).purposeOfUse("TREAT")
          .consent(ConsentDecision.PERMIT, "Consent/3").patients(List.of(patient));
    } else if (interaction == Interaction.SEARCH) {
      b.resource("Observation", null, null);
    }
    return b.build();
  }
}
