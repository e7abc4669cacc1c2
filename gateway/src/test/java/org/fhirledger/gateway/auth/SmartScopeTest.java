package org.fhirledger.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.fhirledger.gateway.auth.SmartScope.Context;
import org.fhirledger.gateway.auth.SmartScope.Permission;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class SmartScopeTest {

  @ParameterizedTest
  @CsvSource({
      "patient/Observation.read, PATIENT, Observation, rs",
      "user/*.write, USER, *, cud",
      "system/*.*, SYSTEM, *, cruds",
      "patient/Observation.rs, PATIENT, Observation, rs",
      "user/Patient.cruds, USER, Patient, cruds",
      "system/Encounter.s, SYSTEM, Encounter, s",
      "patient/*.cu, PATIENT, *, cu"})
  void parse_v1AndV2_mappedAsSmartSays(String scope, Context context, String type, String letters) {
    SmartScope s = SmartScope.parse(scope).orElseThrow();

    assertEquals(context, s.context());
    assertEquals(type, s.resourceType());
    assertEquals(permissions(letters), s.permissions());
    assertTrue(s.query().isEmpty());
  }

  @Test
  void parse_granular_decodesQuery() {
    SmartScope s = SmartScope.parse("patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/"
        + "observation-category%7Claboratory&status=final").orElseThrow();

    assertEquals(Map.of("category", List.of("http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),
        "status", List.of("final")), s.query());
    assertTrue(s.isGranular());
  }

  @ParameterizedTest
  @ValueSource(strings = {"openid", "fhirUser", "launch/patient", "offline_access", "patient/Observation.sr",
      "patient/Observation.rr", "patient/Observation.x", "patient/Observation.read?category=x",
      "patient/Observation.rs?", "patient/Observation.rs?category", "admin/*.rs", "patient/Obs-1.rs"})
  void parse_notAResourceScopeOrMalformed_grantsNothing(String scope) {
    assertTrue(SmartScope.parse(scope).isEmpty(), scope);
  }

  @Test
  void parseAll_mixedClaim_keepsResourceScopesOnly() {
    List<SmartScope> scopes = SmartScope.parseAll(" openid fhirUser launch/patient patient/*.rs  user/Observation.c ");

    assertEquals(List.of("patient/*.rs", "user/Observation.c"), scopes.stream().map(SmartScope::toString).toList());
  }

  private static EnumSet<Permission> permissions(String letters) {
    EnumSet<Permission> out = EnumSet.noneOf(Permission.class);
    for (Permission p : Permission.values()) {
      if (letters.indexOf(p.letter) >= 0) {
        out.add(p);
      }
    }
    return out;
  }
}
