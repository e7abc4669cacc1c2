package org.fhirledger.conformance.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.fhirledger.gateway.ledger.RecordedWrite;
import org.fhirledger.gateway.provenance.ProvenanceWriter;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.Interaction;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Provenance;
import org.junit.jupiter.api.Test;

/** The requests of the create-provenance workload, checked against the gateway's own Provenance. */
class WorkloadTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final URI BASE = URI.create("http://127.0.0.1:4711/fhir");
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  @Test
  void provenanceJson_parsedByHapi_isWhatTheGatewayStoresForThatCreate() {
    Instant recorded = Instant.parse("2026-12-04T10:15:30.123Z");

    Provenance ours = parser().parseResource(Provenance.class,
        Workload.provenanceJson("Observation/42/_history/3", recorded));

    Provenance gateways = gatewaysProvenance(new RecordedWrite(Interaction.CREATE, "Observation", "42", "3",
        new Actor(Workload.CLIENT_ID, null, null), recorded, Workload.SYNTHETIC_ORIGIN,
        Workload.SYNTHETIC_LEDGER_INDEX, Base64.getDecoder().decode(Workload.SYNTHETIC_LEAF_HASH)));
    IdType target = new IdType(ours.getTargetFirstRep().getReference());
    assertEquals("Observation", target.getResourceType());
    assertEquals("42", target.getIdPart());
    assertEquals("3", target.getVersionIdPart(), "the target names the version created");
    assertEquals(recorded, ours.getRecorded().toInstant());
    // The same instant may be written in another time zone; everything else must be the same, element for element.
    ours.setRecordedElement(new InstantType(gateways.getRecordedElement().getValueAsString()));
    assertEquals(parser().encodeResourceToString(gateways), parser().encodeResourceToString(ours));
  }

  @Test
  void followUp_createProvenanceDirect_postsProvenanceOfTheLocationsVersionWithReturnMinimal() {
    HttpHeaders created = headers("Location", BASE + "/Patient/1234/_history/1");

    HttpRequest provenance = Workload.CREATE_PROVENANCE
        .followUp(GatewayBenchmark.Target.DIRECT, BASE, created, TIMEOUT)
        .orElseThrow();

    assertEquals("POST", provenance.method());
    assertEquals(URI.create(BASE + "/Provenance"), provenance.uri());
    assertEquals(List.of("return=minimal"), provenance.headers().allValues("Prefer"));
    assertTrue(provenance.headers().firstValue("Content-Type").orElseThrow().startsWith(Workload.FHIR_JSON));
  }

  @Test
  void followUp_throughTheGatewayOrPlainCreate_isEmpty() {
    HttpHeaders created = headers("Location", BASE + "/Patient/1234/_history/1");

    assertTrue(Workload.CREATE_PROVENANCE.followUp(GatewayBenchmark.Target.GATEWAY, BASE, created, TIMEOUT).isEmpty(),
        "the gateway stores the Provenance itself");
    assertTrue(Workload.CREATE.followUp(GatewayBenchmark.Target.DIRECT, BASE, created, TIMEOUT).isEmpty());
  }

  @Test
  void followUp_answerWithoutLocation_throws() {
    HttpHeaders noLocation = headers("ETag", "W/\"1\"");

    assertThrows(IllegalStateException.class,
        () -> Workload.CREATE_PROVENANCE.followUp(GatewayBenchmark.Target.DIRECT, BASE, noLocation, TIMEOUT));
  }

  @Test
  void versionedReference_absoluteOrRelativeLocation_isTypeIdVersion() {
    assertEquals("Patient/1234/_history/7", Workload.versionedReference(BASE + "/Patient/1234/_history/7"));
    assertEquals("Observation/a-b.c/_history/1", Workload.versionedReference("Observation/a-b.c/_history/1"));
  }

  @Test
  void versionedReference_unversionedLocation_throws() {
    assertThrows(IllegalStateException.class, () -> Workload.versionedReference(BASE + "/Patient/1234"));
  }

  @Test
  void byLabel_createProvenance_isItsOwnWorkloadWithoutTarget() {
    Workload w = Workload.byLabel("create-provenance");

    assertEquals(Workload.CREATE_PROVENANCE, w);
    assertTrue(!w.hasTarget() && Workload.CREATE.hasTarget(), "only issue #4's create carries its target");
    assertThrows(IllegalArgumentException.class, () -> Workload.byLabel("create_provenance"));
  }

  @Test
  void parse_workloadsFlag_acceptsCreateProvenanceAndDefaultsToAllFour() {
    BenchOptions some = BenchOptions.parse(new String[] {"--topology=external", "--direct-url=http://127.0.0.1:1/fhir",
        "--gateway-url=http://127.0.0.1:2/fhir", "--workloads=create,create-provenance"});
    BenchOptions all = BenchOptions.parse(new String[] {"--topology=external", "--direct-url=http://127.0.0.1:1/fhir",
        "--gateway-url=http://127.0.0.1:2/fhir"});

    assertEquals(List.of(Workload.CREATE, Workload.CREATE_PROVENANCE), some.workloads);
    assertEquals(List.of(Workload.values()), all.workloads);
  }

  /** The gateway's ProvenanceWriter builds it; it sends nothing, so its EHR client must not be called. */
  private static Provenance gatewaysProvenance(RecordedWrite write) {
    UpstreamFhirClient unused = new UpstreamFhirClient() {
      @Override
      public UpstreamResponse exchange(UpstreamRequest request) {
        throw new AssertionError("provenanceOf sends nothing");
      }

      @Override
      public URI baseUrl() {
        return BASE;
      }

      @Override
      public void close() {}
    };
    return new ProvenanceWriter(unused, FHIR).provenanceOf(write);
  }

  /** The gateway's encoding: it keeps the versions of Provenance targets. */
  private static IParser parser() {
    return FHIR.newJsonParser().setDontStripVersionsFromReferencesAtPaths("Provenance.target");
  }

  private static HttpHeaders headers(String name, String value) {
    return HttpHeaders.of(Map.of(name, List.of(value)), (a, b) -> true);
  }
}
