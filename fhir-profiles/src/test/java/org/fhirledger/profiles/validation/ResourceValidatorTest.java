package org.fhirledger.profiles.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.util.List;
import org.fhirledger.profiles.GatewayProfiles;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The validator with the gateway's own package only (no shared data needed): base R4 rules, terminology, locations. */
class ResourceValidatorTest {

  private static ResourceValidator validator;

  @BeforeAll
  static void build() {
    validator = ResourceValidator.builder(FhirContext.forR4Cached()).withGatewayPackage().build();
  }

  @Test
  void validate_observationWithoutStatus_errorLocatedAtStatus() {
    String json = """
        {"resourceType":"Observation","code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]}}""";

    List<ValidationIssue> errors = errors(validator.validate(json, List.of()));

    assertEquals(List.of("Observation.status"), errors.stream().map(ValidationIssue::location).toList(), errors::toString);
  }

  @Test
  void validate_unknownElementAndBadCode_errorsLocated() {
    String json = """
        {"resourceType":"Observation","status":"done","colour":"red",
         "code":{"coding":[{"system":"http://loinc.org","code":"718-7"}]}}""";

    List<ValidationIssue> errors = errors(validator.validate(json, List.of()));

    assertTrue(errors.stream().anyMatch(i -> i.location().equals("Observation.status")), errors::toString);
    assertTrue(errors.stream().anyMatch(i -> i.location().startsWith("Observation")
        && i.message().contains("colour")), errors::toString);
  }

  @Test
  void validate_codeFromUnknownCodeSystem_warningNotError() {
    String json = """
        {"resourceType":"Observation","status":"final",
         "code":{"coding":[{"system":"http://terminology.example.org/nowhere","code":"x1"}]}}""";

    List<ValidationIssue> issues = validator.validate(json, List.of());

    assertEquals(List.of(), errors(issues));
  }

  @Test
  void validate_unknownProfileClaimedOrAsked_notAnError() {
    String json = """
        {"resourceType":"Observation","meta":{"profile":["http://example.org/StructureDefinition/unknown"]},
         "status":"final","code":{"text":"x"}}""";

    List<ValidationIssue> issues = validator.validate(json, List.of());

    assertEquals(List.of(), errors(issues));
  }

  @Test
  void validate_ownPackageProfileClaimed_isApplied() {
    String json = """
        {"resourceType":"Provenance","meta":{"profile":["%s"]},
         "target":[{"reference":"Observation/1/_history/1"}],"recorded":"2026-11-25T13:00:00Z",
         "agent":[{"who":{"display":"x"}}]}""".formatted(GatewayProfiles.GATEWAY_PROVENANCE);

    List<ValidationIssue> errors = errors(validator.validate(json, List.of()));

    assertTrue(errors.stream().anyMatch(i -> i.message().contains("ledgerReceipt")), errors::toString);
  }

  @Test
  void element_missingChildOrSlice_locatedAtTheChild() {
    assertEquals("Observation.category", ResourceValidator.element("Observation",
        "Observation.category: minimum required = 1, but only found 0"));
    assertEquals("Observation.component[1].code", ResourceValidator.element("Observation.component[1]",
        "Observation.component.code: minimum required = 1, but only found 0"));
    assertEquals("Observation.category", ResourceValidator.element("Observation",
        "Slice 'Observation.category:us-core': a matching slice is required, but not found"));
    assertEquals("Observation.status", ResourceValidator.element("Observation.status", "Unknown code 'done'"));
  }

  @Test
  void within_bundleEntry_prefixesTheEntryPath() {
    ValidationIssue issue = new ValidationIssue(ValidationIssue.Severity.ERROR, "Observation.category", "m");

    assertEquals("Bundle.entry[3].resource.category", issue.within("Bundle.entry[3].resource").location());
  }

  private static List<ValidationIssue> errors(List<ValidationIssue> issues) {
    return issues.stream().filter(i -> i.severity().isError()).toList();
  }
}
