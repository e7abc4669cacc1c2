package org.fhirledger.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.util.List;
import java.util.Map;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ResourceMatcherTest {

  private static final String CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
  private final ResourceMatcher matcher = new ResourceMatcher(FhirContext.forR4Cached());

  private static Observation labFor(String patient) {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.addCategory(new CodeableConcept().addCoding(new Coding(CATEGORY, "laboratory", null)));
    o.setSubject(new Reference("Patient/" + patient));
    return o;
  }

  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "category; http://terminology.hl7.org/CodeSystem/observation-category|laboratory; true",
      "category; laboratory; true",
      "category; http://terminology.hl7.org/CodeSystem/observation-category|; true",
      "category; |laboratory; false",
      "category; vital-signs,laboratory; true",
      "category; http://terminology.hl7.org/CodeSystem/observation-category|vital-signs; false",
      "status; final; true",
      "status; amended; false",
      "subject; Patient/7; true",
      "subject; 7; true",
      "subject; Patient/8; false",
      "category:not; vital-signs; false",
      "date; 2020; false",
      "no-such-param; x; false"})
  void matches_granularQuery(String name, String value, boolean expected) {
    assertEquals(expected, matcher.matches(labFor("7"), Map.of(name, List.of(value))));
  }

  @Test
  void inPatientCompartment_subjectOrSelfOnly() {
    Patient self = new Patient();
    self.setId("7");

    assertTrue(matcher.inPatientCompartment(labFor("7"), "7"));
    assertFalse(matcher.inPatientCompartment(labFor("8"), "7"));
    assertTrue(matcher.inPatientCompartment(self, "7"));
    assertFalse(matcher.inPatientCompartment(self, "8"));
    assertFalse(matcher.inPatientCompartment(new Practitioner(), "7"));
  }

  @Test
  void compartmentParameter_preferredNames() {
    assertEquals("_id", matcher.compartmentParameter("Patient"));
    assertEquals("patient", matcher.compartmentParameter("Condition"));
    assertTrue(matcher.hasPatientCompartment("Observation"));
    assertFalse(matcher.hasPatientCompartment("Practitioner"));
  }
}
