package org.fhirledger.gateway.consent;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import org.fhirledger.gateway.upstream.MicronautUpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Which search parameters the enforcer refuses because a filtered result cannot enforce them: selection or counting
 * through other resources of the Patient compartment, and result parameters that hide what decisions need.
 */
class ConsentEnforcerParametersTest {

  static UpstreamFhirClient upstream;
  static ConsentEnforcer enforcer;

  @BeforeAll
  static void enforcer() {
    FhirContext fhir = FhirContext.forR4Cached();
    upstream = new MicronautUpstreamFhirClient(URI.create("http://127.0.0.1:9/fhir"),
        new UpstreamSettings(Duration.ofSeconds(1), Duration.ofSeconds(1), 2, 0, 1 << 20));
    ConsentIndex index = new ConsentIndex(fhir, upstream, 100);
    enforcer = new ConsentEnforcer(new IndexedConsentService(index,
        new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_IN, false), Clock.systemUTC(), fhir), index, fhir, upstream,
        false, org.fhirledger.ledger.entry.LinkKey.of(new byte[32]), 10, null);
  }

  @AfterAll
  static void close() throws Exception {
    upstream.close();
  }

  @ParameterizedTest(name = "{0}={1} refused: {2}")
  @CsvSource({
      "_has:Observation:subject:code, x, true",
      "_has, x, true",
      "subject.name, x, true",
      "subject:Patient.name, x, true",
      "patient.identifier, x, true",
      "encounter:Encounter.status, x, true",
      "performer.name, x, true",
      "performer:Unknowntype.name, x, true",
      "performer:Practitioner.name, x, false",
      "organization:Organization.name, x, false",
      "_summary, count, true",
      "_summary, true, true",
      "_summary, data, true",
      "_summary, false, false",
      "_total, accurate, true",
      "_elements, id, true",
      "_list, 1, true",
      "_contained, true, true",
      "_containedType, container, true",
      "_filter, x, true",
      "_query, x, true",
      "_include, Observation:subject, false",
      "_revinclude:iterate, Observation:subject, false",
      "_id, 1, false",
      "code:text, x, false",
      "subject, Patient/1, false",
      "_count, 10, false",
      "_sort, -date, false"})
  void refusal(String name, String value, boolean refused) {
    String reason = enforcer.refusal(name, new String[] {value});
    if (refused) {
      assertNotNull(reason);
    } else {
      assertNull(reason);
    }
  }
}
