package org.fhirledger.conformance.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Provenance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The create-provenance workload against a real HAPI JPA EHR (the sandbox): directly, every counted create leaves
 * exactly one Provenance whose versioned target is the version created; the gateway target sends the create only.
 */
class CreateProvenanceLoadTest {

  private static final Duration TIMEOUT = Duration.ofSeconds(30);
  private static final int CREATES = 12;

  @TempDir
  static Path dataDir;
  private static SandboxEhr ehr;
  private static HttpClient http;
  private static LoadGenerator load;

  @BeforeAll
  static void startEhrAndSeed() throws Exception {
    ehr = SandboxEhr.start(dataDir);
    http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    load = new LoadGenerator(http, SeedData.seed(http, ehr.baseUrl(), 10, 1), TIMEOUT);
  }

  @AfterAll
  static void stopEhr() {
    if (ehr != null) {
      ehr.close();
    }
  }

  @Test
  void run_directTarget_storesOneProvenanceOfTheCreatedVersionPerCreate() throws Exception {
    long before = provenanceCount();

    LoadGenerator.Round round = load.run(GatewayBenchmark.Target.DIRECT, ehr.baseUrl(), Workload.CREATE_PROVENANCE,
        3, Duration.ofMinutes(2), CREATES);

    assertEquals(0, round.errors(), () -> "errors: " + round.errorSamples());
    assertEquals(CREATES, round.requests());
    assertEquals(before + CREATES, provenanceCount(), "one Provenance per create");
    Bundle latest = search("/Provenance?_sort=-_lastUpdated&_count=" + CREATES);
    for (Bundle.BundleEntryComponent e : latest.getEntry()) {
      IdType target = new IdType(((Provenance) e.getResource()).getTargetFirstRep().getReference());
      assertTrue(target.hasVersionIdPart(), () -> "versioned target: " + target.getValue());
      assertEquals(200, get(target.getValue()).statusCode(), () -> "the target version exists: " + target.getValue());
    }
  }

  @Test
  void run_gatewayTarget_sendsTheCreateOnly() throws Exception {
    long before = provenanceCount();

    // Against the EHR itself: what the load generator sends when the gateway is to store the Provenance.
    LoadGenerator.Round round = load.run(GatewayBenchmark.Target.GATEWAY, ehr.baseUrl(), Workload.CREATE_PROVENANCE,
        2, Duration.ofMinutes(2), 4);

    assertEquals(0, round.errors(), () -> "errors: " + round.errorSamples());
    assertEquals(4, round.requests());
    assertEquals(before, provenanceCount());
  }

  private static long provenanceCount() throws IOException, InterruptedException {
    return search("/Provenance?_summary=count").getTotal();
  }

  private static Bundle search(String pathAndQuery) throws IOException, InterruptedException {
    HttpResponse<String> r = get(pathAndQuery);
    assertEquals(200, r.statusCode(), r::body);
    return FhirContext.forR4Cached().newJsonParser().parseResource(Bundle.class, r.body());
  }

  private static HttpResponse<String> get(String pathAndQuery) throws IOException, InterruptedException {
    String sep = pathAndQuery.startsWith("/") ? "" : "/";
    return http.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl() + sep + pathAndQuery))
            .timeout(TIMEOUT)
            .header("Accept", Workload.FHIR_JSON)
            .header("Cache-Control", "no-cache")
            .GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }
}
