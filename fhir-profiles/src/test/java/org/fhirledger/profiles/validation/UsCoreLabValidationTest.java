package org.fhirledger.profiles.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The validator with US Core 6.1.0 loaded: the package's own lab examples pass its lab profiles, and each kind of
 * broken lab result is an error located by FHIRPath. Skips, saying so, without {@code ../shared}.
 */
class UsCoreLabValidationTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static ResourceValidator validator;
  private static Path usCore;

  @BeforeAll
  static void buildValidator() throws IOException {
    usCore = UsCorePackage.require();
    ResourceValidator.Builder builder = ResourceValidator.builder(FHIR).withGatewayPackage();
    try (InputStream in = Files.newInputStream(usCore)) {
      assertEquals("hl7.fhir.us.core#6.1.0", builder.addPackage(in));
    }
    validator = builder.build();
  }

  @Test
  void validate_usCoreLabObservationExamples_noErrors() {
    Map<String, String> examples = UsCorePackage.examples(usCore, "Observation-");
    examples.keySet().removeIf(name -> !name.contains("cbc") && !name.contains("serum") && !name.contains("urine"));
    assertTrue(examples.size() >= 10, examples.keySet()::toString);

    examples.forEach((name, json) ->
        assertEquals(List.of(), errors(validator.validate(json, List.of(UsCorePackage.OBSERVATION_LAB))), name));
  }

  @Test
  void validate_usCoreLabDiagnosticReportExamples_noErrors() {
    Map<String, String> examples = UsCorePackage.examples(usCore, "DiagnosticReport-");
    examples.keySet().retainAll(List.of("DiagnosticReport-cbc.json", "DiagnosticReport-metabolic-panel.json"));
    assertEquals(2, examples.size());

    examples.forEach((name, json) -> assertEquals(List.of(),
        errors(validator.validate(json, List.of(UsCorePackage.DIAGNOSTIC_REPORT_LAB))), name));
  }

  @Test
  void validate_labObservationWithoutCategory_errorAtCategory() {
    assertErrorAt(hemoglobin(o -> o.remove("category")), "Observation.category");
  }

  @Test
  void validate_labObservationWithWrongStatus_errorAtStatus() {
    assertErrorAt(hemoglobin(o -> o.put("status", "done")), "Observation.status");
  }

  @Test
  void validate_labObservationWithoutSubject_errorAtSubject() {
    assertErrorAt(hemoglobin(o -> o.remove("subject")), "Observation.subject");
  }

  @Test
  void validate_labObservationWithBadUnit_errorAtValue() {
    assertErrorAt(hemoglobin(o -> ((ObjectNode) o.get("valueQuantity")).put("code", "gram per decilitre")),
        "Observation.value");
  }

  @Test
  void validate_usCorePatientWithCodesFromUnloadedCodeSystems_warningsNotErrors() {
    String patient = UsCorePackage.examples(usCore, "Patient-example.json").values().iterator().next();

    List<ValidationIssue> issues = validator.validate(patient, List.of());

    assertEquals(List.of(), errors(issues));
    assertTrue(issues.stream().anyMatch(i -> i.message().contains("omb-race-category")
        && i.message().contains("not checked")), issues::toString);
  }

  @Test
  void knowsProfile_usCoreLabAndGatewayProfiles() {
    assertTrue(validator.knowsProfile(UsCorePackage.OBSERVATION_LAB));
    assertTrue(validator.knowsProfile(org.fhirledger.profiles.GatewayProfiles.GATEWAY_PROVENANCE));
    assertFalse(validator.knowsProfile("http://example.org/StructureDefinition/nothing"));
  }

  /** The US Core hemoglobin example, changed. */
  static String hemoglobin(Consumer<ObjectNode> change) {
    try {
      String original = UsCorePackage.examples(usCore, "Observation-cbc-hemoglobin").values().iterator().next();
      ObjectNode json = (ObjectNode) new ObjectMapper().readTree(original);
      change.accept(json);
      String changed = json.toString();
      assertFalse(changed.equals(new ObjectMapper().readTree(original).toString()), "the test's change did not apply");
      return changed;
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static void assertErrorAt(String json, String locationPrefix) {
    List<ValidationIssue> errors = errors(validator.validate(json, List.of(UsCorePackage.OBSERVATION_LAB)));
    System.out.println(errors);
    assertTrue(errors.stream().anyMatch(i -> i.location().startsWith(locationPrefix)), errors::toString);
  }

  private static List<ValidationIssue> errors(List<ValidationIssue> issues) {
    return issues.stream().filter(i -> i.severity().isError()).toList();
  }
}
