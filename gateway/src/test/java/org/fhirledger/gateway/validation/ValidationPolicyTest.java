package org.fhirledger.gateway.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.fhirledger.profiles.validation.ValidationIssue;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.junit.jupiter.api.Test;

/** Modes and profiles per resource type, and what a refusal and a warning look like to the client. */
class ValidationPolicyTest {

  @Test
  void modeFor_typeKeysMatchedWithoutCase_defaultOtherwise() {
    ValidationProperties p = new ValidationProperties(ValidationMode.WARN,
        Map.of("Observation", ValidationMode.REJECT, "patient", ValidationMode.OFF),
        Map.of("observation", List.of(" http://x/a ", "")), null);

    assertEquals(ValidationMode.REJECT, p.modeFor("Observation"));
    assertEquals(ValidationMode.OFF, p.modeFor("Patient"));
    assertEquals(ValidationMode.WARN, p.modeFor("Consent"));
    assertEquals(List.of("http://x/a"), p.profilesFor("Observation"));
    assertEquals(List.of(), p.profilesFor("Patient"));
  }

  @Test
  void enabled_allOff_false() {
    assertFalse(new ValidationProperties(ValidationMode.OFF, Map.of(), Map.of(), null).enabled());
    assertTrue(new ValidationProperties(ValidationMode.OFF, Map.of("Observation", ValidationMode.WARN), Map.of(), null)
        .enabled());
  }

  @Test
  void outcome_errorsFirstEachWithItsExpression() {
    OperationOutcome oo = WriteValidation.outcome(List.of(
        new ValidationIssue(ValidationIssue.Severity.WARNING, "Observation.code", "unknown system"),
        new ValidationIssue(ValidationIssue.Severity.ERROR, "Observation.status", "missing")), "refused");

    assertEquals(2, oo.getIssue().size());
    assertEquals(OperationOutcome.IssueSeverity.ERROR, oo.getIssue().get(0).getSeverity());
    assertEquals("Observation.status", oo.getIssue().get(0).getExpression().get(0).getValue());
    assertEquals("Observation.code", oo.getIssue().get(1).getExpression().get(0).getValue());
  }

  @Test
  void summary_countsBoundedAndAscii() {
    List<ValidationIssue> issues = IntStream.range(0, 12)
        .mapToObj(i -> new ValidationIssue(i == 0 ? ValidationIssue.Severity.ERROR : ValidationIssue.Severity.WARNING,
            "Patient.name[" + i + "]", "caf\u00e9 " + "x".repeat(300)))
        .toList();

    String summary = WriteValidation.summary(issues);

    assertTrue(summary.startsWith("1 error, 11 warnings: error Patient.name[0]: caf? "), summary);
    assertTrue(summary.endsWith("; ..."), summary);
    assertTrue(summary.chars().allMatch(c -> c >= 0x20 && c < 0x7f), summary);
    assertTrue(summary.length() < 2200, () -> Integer.toString(summary.length()));
  }

  @Test
  void targetOf_bundlePatchUrls_idOrConditionalElseNone() {
    assertEquals(new PatchPreview.Target("Observation", "abc-1", null),
        WriteValidation.targetOf("Observation/abc-1").orElseThrow());
    assertEquals(new PatchPreview.Target("Observation", null, "identifier=s%7Cv"),
        WriteValidation.targetOf("/Observation?identifier=s%7Cv").orElseThrow());
    assertTrue(WriteValidation.targetOf("urn:uuid:0f0e").isEmpty());
    assertTrue(WriteValidation.targetOf("Observation/1/_history/2").isEmpty());
    assertTrue(WriteValidation.targetOf("Observation/1?x=y").isEmpty());
  }

  @Test
  void prefersOutcome_tokenAmongOthersAnyCase_onlyReturnOperationOutcome() {
    assertTrue(WriteValidation.prefersOutcome(List.of("handling=strict, return=OperationOutcome")));
    assertTrue(WriteValidation.prefersOutcome(List.of("RETURN = \"operationoutcome\"")));
    assertFalse(WriteValidation.prefersOutcome(List.of("return=representation")));
    assertFalse(WriteValidation.prefersOutcome(null));
  }
}
