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
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Provenance;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Provenance profile and the ledger receipt extension: a conforming instance passes, each gap is named. */
class GatewayProvenanceProfileTest {

  /**
   * HAPI strips versions from references when it encodes (and the validator encodes before it validates), which
   * would turn every versioned target into an unversioned one: keep them at Provenance.target.
   */
  private static final FhirContext FHIR = GatewayProfiles.keepVersionedProvenanceTargets(FhirContext.forR4());
  private static FhirValidator validator;

  @BeforeAll
  static void buildValidator() {
    validator = FHIR.newValidator().registerValidatorModule(new FhirInstanceValidator(GatewayProfiles.validationSupport(FHIR)));
  }

  @Test
  void validate_conformingProvenance_noErrors() {
    ValidationResult result = validator.validateWithResult(conforming());

    assertEquals(List.of(), errors(result), () -> FHIR.newJsonParser().encodeResourceToString(result.toOperationOutcome()));
  }

  @Test
  void validate_defaultHapiContext_stripsTargetVersionSoProfileFails() {
    FhirContext stripping = FhirContext.forR4Cached();
    FhirValidator plain = stripping.newValidator()
        .registerValidatorModule(new FhirInstanceValidator(GatewayProfiles.validationSupport(stripping)));

    List<SingleValidationMessage> errors = errors(plain.validateWithResult(conforming()));

    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("gwp-1")), errors::toString);
  }

  @Test
  void validate_userAsAuthorAndClientAsEnterer_noErrors() {
    Provenance p = conforming();
    Reference client = p.getAgentFirstRep().getWho();
    p.getAgentFirstRep().setWho(new Reference("Practitioner/7"));
    p.addAgent()
        .setType(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "enterer", "Enterer")))
        .setWho(client);

    assertEquals(List.of(), errors(validator.validateWithResult(p)));
  }

  @Test
  void validate_noAuthor_errorNamesTheRule() {
    Provenance p = conforming();
    p.getAgentFirstRep().getType().getCodingFirstRep().setCode("enterer");

    List<SingleValidationMessage> errors = errors(validator.validateWithResult(p));

    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("gwp-2")), errors::toString);
  }

  @Test
  void validate_unversionedTarget_errorNamesTheRule() {
    Provenance p = conforming();
    p.getTargetFirstRep().setReference("Observation/12");

    List<SingleValidationMessage> errors = errors(validator.validateWithResult(p));

    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("gwp-1")), errors::toString);
  }

  @Test
  void validate_receiptWithoutLeafHashOrWithBadIndex_errors() {
    Provenance p = conforming();
    Extension receipt = p.getExtensionByUrl(GatewayProfiles.LEDGER_RECEIPT);
    receipt.getExtension().removeIf(e -> e.getUrl().equals("leafHash"));
    receipt.getExtensionByUrl("index").setValue(new StringType("-3"));

    List<SingleValidationMessage> errors = errors(validator.validateWithResult(p));

    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("leafHash")), errors::toString);
    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("lr-1")), errors::toString);
  }

  @Test
  void validate_withoutReceiptOrAgent_errors() {
    Provenance p = conforming();
    p.getExtension().clear();
    p.getAgent().clear();

    List<SingleValidationMessage> errors = errors(validator.validateWithResult(p));

    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("ledgerReceipt")), errors::toString);
    assertTrue(errors.stream().anyMatch(m -> m.getLocationString().contains("Provenance") && m.getMessage().contains("agent")), errors::toString);
  }

  private static List<SingleValidationMessage> errors(ValidationResult result) {
    return result.getMessages().stream()
        .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal()).toList();
  }

  static Provenance conforming() {
    Provenance p = new Provenance();
    p.setId("5");
    p.getMeta().addProfile(GatewayProfiles.GATEWAY_PROVENANCE);
    Extension receipt = p.addExtension().setUrl(GatewayProfiles.LEDGER_RECEIPT);
    receipt.addExtension("origin", new StringType("gateway.test/ledger"));
    receipt.addExtension("index", new StringType("42"));
    receipt.addExtension("leafHash", new Base64BinaryType(new byte[32]));
    p.addTarget(new Reference("Observation/12/_history/3"));
    p.setRecordedElement(new InstantType("2026-11-25T13:00:00.000Z"));
    p.setActivity(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/v3-DataOperation", "UPDATE", "revise")));
    p.addAgent()
        .setType(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/provenance-participant-type", "author", "Author")))
        .setWho(new Reference().setIdentifier(new Identifier().setSystem(GatewayProfiles.CLIENT_ID_SYSTEM).setValue("lab-app")))
        .setOnBehalfOf(new Reference("Organization/lab-1"));
    return p;
  }
}
