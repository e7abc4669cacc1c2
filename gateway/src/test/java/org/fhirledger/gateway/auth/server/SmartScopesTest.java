package org.fhirledger.gateway.auth.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class SmartScopesTest {

  @ParameterizedTest(name = "{0} covers {1}: {2}")
  @CsvSource({
      "system/*.rs, system/Observation.rs, true",
      "system/*.rs, system/Observation.r, true",
      "system/*.rs, system/Observation.cruds, false",
      "system/*.rs, patient/Observation.rs, false",
      "system/Observation.cruds, system/Observation.rs, true",
      "system/Observation.cruds, system/Patient.rs, false",
      "system/*.read, system/Patient.rs, true",
      "system/*.read, system/Patient.c, false",
      "system/*.write, system/Patient.cud, true",
      "system/*.*, system/Patient.cruds, true",
      "patient/*.rs, patient/*.read, true",
      "patient/Observation.rs?category=laboratory, patient/Observation.rs, false",
      "patient/Observation.rs, patient/Observation.rs?category=laboratory, true",
      "openid, openid, true",
      "launch/patient, launch, false",
      "system/*.rs, openid, false",
  })
  void covers_smartScopes_asTheSpecSays(String allowed, String requested, boolean expected) {
    assertThat(SmartScopes.covers(allowed, requested)).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"system/Observation.rs", "system/Patient.s"})
  void covered_anyAllowedScopeSuffices(String requested) {
    assertThat(SmartScopes.covered(List.of("openid", "system/Patient.rs", "system/Observation.cruds"), requested)).isTrue();
  }
}
