package org.fhirledger.profiles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.util.List;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The packaged profiles load, and HAPI's validator applies them: conforming passes, a gap fails. */
class GatewayProfilesTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static FhirValidator validator;

  @BeforeAll
  static void buildValidator() {
    validator = FHIR.newValidator().registerValidatorModule(new FhirInstanceValidator(GatewayProfiles.validationSupport(FHIR)));
  }

  @Test
  void validate_conformingAuditEvent_noErrors() {
    ValidationResult result = validator.validateWithResult(conforming());

    assertEquals(List.of(), errors(result), () -> FHIR.newJsonParser().encodeResourceToString(result.toOperationOutcome()));
  }

  @Test
  void validate_withoutLedgerEntryOrClient_errorsNameBoth() {
    AuditEvent event = conforming();
    event.getExtension().clear();
    event.getAgent().remove(0);

    List<SingleValidationMessage> errors = errors(validator.validateWithResult(event));

    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("ledgerEntry")), errors::toString);
    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("client")), errors::toString);
  }

  private static List<SingleValidationMessage> errors(ValidationResult result) {
    return result.getMessages().stream()
        .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal()).toList();
  }

  static AuditEvent conforming() {
    AuditEvent e = new AuditEvent();
    e.setId("7");
    e.getMeta().addProfile(GatewayProfiles.LEDGER_AUDIT_EVENT);
    Extension ledger = e.addExtension().setUrl(GatewayProfiles.LEDGER_ENTRY);
    ledger.addExtension("origin", new StringType("gateway.test/ledger"));
    ledger.addExtension("index", new StringType("7"));
    e.setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "Restful Operation"));
    e.addSubtype(new Coding("http://hl7.org/fhir/restful-interaction", "read", "read"));
    e.setAction(AuditEvent.AuditEventAction.R);
    e.setRecordedElement(new InstantType("2026-11-25T13:00:00.000Z"));
    e.setOutcome(AuditEvent.AuditEventOutcome._0);
    e.addAgent().setType(new CodeableConcept(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110153", "Source Role ID")))
        .setWho(new Reference().setIdentifier(new Identifier().setSystem(GatewayProfiles.CLIENT_ID_SYSTEM).setValue("app")))
        .setRequestor(true);
    e.addAgent().setType(new CodeableConcept(new Coding("http://dicom.nema.org/resources/ontology/DCM", "110152", "Destination Role ID")))
        .setWho(new Reference().setIdentifier(new Identifier().setSystem(GatewayProfiles.LOG_ORIGIN_SYSTEM).setValue("gateway.test/ledger")))
        .setRequestor(false);
    e.getSource().setSite("gateway.test/ledger")
        .setObserver(new Reference().setIdentifier(new Identifier().setSystem(GatewayProfiles.LOG_ORIGIN_SYSTEM).setValue("gateway.test/ledger")))
        .addType(new Coding("http://terminology.hl7.org/CodeSystem/security-source-type", "4", "Application Server"));
    e.addEntity().setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2", "System Object"))
        .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "4", "Domain Resource"))
        .setWhat(new Reference("Observation/1"));
    e.addEntity().setType(new Coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1", "Person"))
        .setRole(new Coding("http://terminology.hl7.org/CodeSystem/object-role", "1", "Patient"))
        .setWhat(new Reference().setIdentifier(new Identifier().setSystem(GatewayProfiles.PSEUDONYM_SYSTEM).setValue("00ff")));
    return e;
  }
}
