package org.fhirledger.profiles.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The per-thread core validator is reused across validations, so nothing in it may grow with use: a reused
 * validator once kept every coding it had seen, with the resource around it, and validation slowed from 2 ms to
 * 69 ms as the heap filled (fhir-profiles/README.md, cost of validation). Not a timing test: it looks at the state.
 */
class ValidatorRetainedStateTest {

  /** A lab result with what made the old leak big: codings, a narrative, a quantity. Synthetic. */
  private static final String LAB_RESULT = """
      {"resourceType":"Observation","id":"hb-1",
       "text":{"status":"generated","div":"<div xmlns=\\"http://www.w3.org/1999/xhtml\\"><p>Hemoglobin 13.2 g/dL</p></div>"},
       "status":"final",
       "category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"laboratory"}]}],
       "code":{"coding":[{"system":"http://loinc.org","code":"718-7","display":"Hemoglobin [Mass/volume] in Blood"}],
               "text":"Hemoglobin"},
       "subject":{"reference":"Patient/example-1"},
       "effectiveDateTime":"2026-11-25T08:30:00Z",
       "valueQuantity":{"value":13.2,"unit":"g/dL","system":"http://unitsofmeasure.org","code":"g/dL"},
       "interpretation":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation","code":"N"}]}]}""";

  private static final int WARM_UP = 100;
  private static final int VALIDATIONS = 2_000;

  private static ResourceValidator validator;

  @BeforeAll
  static void build() {
    validator = ResourceValidator.builder(FhirContext.forR4Cached()).withGatewayPackage().build();
  }

  @Test
  void validate_2000Times_noCollectionInTheReusedValidatorGrowsAndResultsStayTheSame() throws Exception {
    List<ValidationIssue> first = validator.validate(LAB_RESULT, List.of());
    for (int i = 1; i < WARM_UP; i++) {
      validator.validate(LAB_RESULT, List.of());
    }
    Object core = validator.reusable().forThisThread();
    Map<String, Integer> before = collectionSizes(core);

    List<ValidationIssue> last = null;
    for (int i = 0; i < VALIDATIONS; i++) {
      last = validator.validate(LAB_RESULT, List.of());
    }
    Map<String, Integer> after = collectionSizes(core);

    assertEquals(first, last, "the same resource must get the same findings on its 2,100th validation");
    assertTrue(before.size() > 10, "the walk found too few collections to mean anything: " + before.keySet());
    List<String> grown = new ArrayList<>();
    after.forEach((path, size) -> {
      int was = before.getOrDefault(path, 0);
      // The leak this guards against grew by 6 entries per validation (12,000 here); caches that fill once do not.
      if (size - was > VALIDATIONS / 20) {
        grown.add(path + ": " + was + " -> " + size);
      }
    });
    assertEquals(List.of(), grown, "collections in the reused validator that grow with use");
    assertEquals(0, validator.reusable().retainedCodings(), "codings kept from earlier validations");
  }

  @Test
  void validate_afterAFailedValidation_keepsNoCodings() {
    List<ValidationIssue> issues = validator.validate(LAB_RESULT.replace("\"final\"", "\"done\""), List.of());

    assertTrue(issues.stream().anyMatch(i -> i.severity().isError() && i.location().equals("Observation.status")),
        issues::toString);
    assertEquals(0, validator.reusable().retainedCodings());
  }

  /**
   * The size of every map and collection reachable from {@code root} through at most three fields of the
   * validator's own library classes (the core validator, its helpers, session, FHIRPath engine, worker context).
   */
  private static Map<String, Integer> collectionSizes(Object root) throws IllegalAccessException {
    Map<String, Integer> sizes = new TreeMap<>();
    walk("validator", root, 0, sizes, Collections.newSetFromMap(new IdentityHashMap<>()));
    return sizes;
  }

  private static void walk(String path, Object object, int depth, Map<String, Integer> sizes, Set<Object> seen)
      throws IllegalAccessException {
    if (depth > 3 || !seen.add(object)) {
      return;
    }
    for (Class<?> c = object.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
      for (Field field : c.getDeclaredFields()) {
        if (Modifier.isStatic(field.getModifiers()) || field.getType().isPrimitive() || !field.trySetAccessible()) {
          continue;
        }
        Object value = field.get(object);
        String at = path + "." + c.getSimpleName() + "." + field.getName();
        if (value instanceof Map<?, ?> map) {
          sizes.put(at, map.size());
        } else if (value instanceof Collection<?> collection) {
          sizes.put(at, collection.size());
        } else if (value != null && (value.getClass().getName().startsWith("org.hl7.fhir.")
            || value.getClass().getName().startsWith("ca.uhn.fhir."))) {
          walk(at, value, depth + 1, sizes, seen);
        }
      }
    }
  }
}
