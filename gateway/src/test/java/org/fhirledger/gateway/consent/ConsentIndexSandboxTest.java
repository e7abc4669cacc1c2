package org.fhirledger.gateway.consent;

import static org.fhirledger.gateway.consent.ConsentFixtures.FHIR;
import static org.fhirledger.gateway.consent.ConsentFixtures.consent;
import static org.fhirledger.gateway.consent.ConsentFixtures.deny;
import static org.fhirledger.gateway.consent.ConsentFixtures.permit;
import static org.hl7.fhir.r4.model.Consent.ConsentState.ACTIVE;
import static org.hl7.fhir.r4.model.Consent.ConsentState.INACTIVE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.gateway.upstream.MicronautUpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamSettings;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.IdType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The index against a real HAPI JPA EHR (the sandbox) over real HTTP: rebuilt by paging, kept current by read-back
 * after writes, and failing closed when the EHR cannot be read. One EHR for the class; each test uses its own ids.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES) // the shared CI machine is slow to start HAPI JPA
class ConsentIndexSandboxTest {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final UpstreamSettings SETTINGS =
      new UpstreamSettings(Duration.ofSeconds(5), Duration.ofSeconds(60), 4, 0, 16 * 1024 * 1024);
  private static final ConsentPolicy OPT_IN = new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_IN, false);

  @TempDir static Path dir;
  private static SandboxEhr ehr;
  private static UpstreamFhirClient upstream;

  @BeforeAll
  static void start() throws Exception {
    ehr = SandboxEhr.start(dir);
    upstream = new MicronautUpstreamFhirClient(ehr.baseUrl(), SETTINGS);
    for (String p : List.of("ix-p1", "ix-p2", "ix-p3")) {
      put("Patient/" + p, "{\"resourceType\":\"Patient\",\"id\":\"" + p + "\",\"name\":[{\"family\":\"Synthetic\"}]}");
    }
    for (String d : List.of("dr1", "dr2", "dr7")) {
      put("Practitioner/" + d, "{\"resourceType\":\"Practitioner\",\"id\":\"" + d + "\"}");
    }
    put(consent("ix-c1", "1", "Patient/ix-p1", ACTIVE, permit().actor("Practitioner/dr1")));
    put(consent("ix-c2", "1", "Patient/ix-p1", ACTIVE, deny().actor("Practitioner/dr2")));
    put(consent("ix-c3", "1", "Patient/ix-p2", ACTIVE, permit().purpose("TREAT")));
    put(consent("ix-c4", "1", "Patient/ix-p2", INACTIVE, deny()));
    Consent research = consent("ix-c5", "1", "Patient/ix-p3", ACTIVE, permit());
    research.setScope(new CodeableConcept(new Coding(CompiledConsent.SCOPE_SYSTEM, "research", null)));
    put(research);
  }

  @AfterAll
  static void stop() {
    if (upstream != null) {
      upstream.close();
    }
    if (ehr != null) {
      ehr.close();
    }
  }

  @Test
  void rebuild_pagesThroughEveryPrivacyConsent_andDecides() {
    ConsentIndex index = new ConsentIndex(FHIR, upstream, 2); // 2 per page: the rebuild must follow next links
    ConsentIndex.RebuildReport report = index.rebuild();

    assertTrue(report.pages() >= 3, "pages read: " + report.pages());
    assertTrue(report.consents() >= 5, "Consents read: " + report.consents());

    assertTrue(index.inSync());
    assertEquals("1", index.versionOf("ix-c1").orElseThrow().version());
    assertTrue(index.versionOf("ix-c4").isPresent(), "inactive Consents are known (for their versions)");
    assertTrue(index.versionOf("ix-c5").isEmpty(), "a research Consent is not indexed");
    ConsentService service = new IndexedConsentService(index, OPT_IN, Clock.systemUTC(), FHIR);
    ConsentDecision dr1 = service.decide(request("Patient/ix-p1", "Practitioner/dr1"));
    assertEquals(ConsentDecision.Outcome.PERMIT, dr1.outcome());
    assertEquals(List.of("Consent/ix-c1/_history/1"), dr1.basis().stream().map(ConsentVersion::reference).toList());
    assertEquals(ConsentDecision.Outcome.DENY, service.decide(request("Patient/ix-p1", "Practitioner/dr2")).outcome());
    assertEquals(ConsentDecision.Outcome.PERMIT, service.decide(request("Patient/ix-p2", "Practitioner/dr9")).outcome());
    assertEquals(ConsentDecision.Outcome.DENY, service.decide(request("Patient/ix-p3", "Practitioner/dr1")).outcome());
  }

  @Test
  void onConsentWritten_revokedInTheEhr_isReadBackAndTheNextDecisionDenies() throws Exception {
    put(consent("ix-r1", "1", "Patient/ix-p3", ACTIVE, permit().actor("Practitioner/dr1")));
    ConsentIndex index = new ConsentIndex(FHIR, upstream, 50);
    index.rebuild();
    ConsentService service = new IndexedConsentService(index, OPT_IN, Clock.systemUTC(), FHIR);
    assertEquals(ConsentDecision.Outcome.PERMIT, service.decide(request("Patient/ix-p3", "Practitioner/dr1")).outcome());

    put(consent("ix-r1", "2", "Patient/ix-p3", INACTIVE, permit().actor("Practitioner/dr1")));
    index.onConsentWritten(new IdType("Consent/ix-r1"), false);

    assertTrue(index.inSync());
    assertEquals("2", index.versionOf("ix-r1").orElseThrow().version());
    assertEquals(ConsentDecision.Outcome.DENY, service.decide(request("Patient/ix-p3", "Practitioner/dr1")).outcome());
  }

  @Test
  void onConsentWritten_deletedInTheEhr_readBackRemovesIt() throws Exception {
    put(consent("ix-d1", "1", "Patient/ix-p3", ACTIVE, permit().actor("Practitioner/dr7")));
    ConsentIndex index = new ConsentIndex(FHIR, upstream, 50);
    index.rebuild();
    assertTrue(index.versionOf("ix-d1").isPresent());

    HttpResponse<String> del = HTTP.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl() + "/Consent/ix-d1"))
        .timeout(Duration.ofSeconds(120)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, del.statusCode(), del.body());
    index.onConsentWritten(new IdType("Consent/ix-d1"), false); // the write path may not know it was a delete

    assertTrue(index.inSync());
    assertTrue(index.versionOf("ix-d1").isEmpty());
  }

  @Test
  void keeper_start_buildsTheIndexInTheBackground() throws Exception {
    ConsentIndex index = new ConsentIndex(FHIR, upstream, 50);
    try (ConsentIndexKeeper keeper = new ConsentIndexKeeper(index, Duration.ofMillis(200))) {
      keeper.start();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
      while (!index.inSync() && System.nanoTime() < deadline) {
        Thread.sleep(20); // polling a condition with a deadline, not synchronising on time
      }
      assertTrue(index.inSync());
      assertTrue(index.versionOf("ix-c1").isPresent());
    }
  }

  @Test
  void rebuild_ehrDown_failsClosedUntilARetrySucceeds() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    try (UpstreamFhirClient dead = new MicronautUpstreamFhirClient(
        URI.create("http://127.0.0.1:" + deadPort + "/fhir"), SETTINGS)) {
      ConsentIndex index = new ConsentIndex(FHIR, dead, 50);
      ConsentService service = new IndexedConsentService(index,
          new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_OUT, true), Clock.systemUTC(), FHIR);

      assertThrows(ConsentIndexException.class, index::rebuild);

      assertFalse(index.inSync());
      ConsentDecision d = service.decide(request("Patient/ix-p1", "Practitioner/dr1"));
      assertEquals(ConsentDecision.Outcome.DENY, d.outcome(), "opt-out must not permit while the index is not ready");
      assertEquals(IndexedConsentService.NOT_READY, d.reason());
      assertFalse(index.retryOutstanding());
    }
  }

  @Test
  void onConsentWritten_readBackFails_failsClosedUntilRetried() throws Exception {
    int deadPort;
    try (ServerSocket s = new ServerSocket(0)) {
      deadPort = s.getLocalPort();
    }
    try (UpstreamFhirClient dead = new MicronautUpstreamFhirClient(
        URI.create("http://127.0.0.1:" + deadPort + "/fhir"), SETTINGS)) {
      ConsentIndex index = new ConsentIndex(FHIR, dead, 50);
      index.load(List.of());
      assertTrue(index.inSync());

      index.onConsentWritten(new IdType("Consent/ix-x1"), false);

      assertFalse(index.inSync());
      assertFalse(index.retryOutstanding());
    }
  }

  // -------------------------------------------------------------------------------------------------------

  private static ConsentRequest request(String patient, String actor) {
    return new ConsentRequest(patient, "app-1", Set.of(actor), ConsentAction.ACCESS, Set.of("TREAT"));
  }

  private static void put(Consent c) throws IOException, InterruptedException {
    Consent copy = c.copy();
    copy.setId(c.getIdElement().getIdPart());
    copy.setMeta(null);
    put("Consent/" + copy.getIdElement().getIdPart(), FHIR.newJsonParser().encodeResourceToString(copy));
  }

  private static void put(String path, String json) throws IOException, InterruptedException {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl() + "/" + path))
        .header("Content-Type", "application/fhir+json").timeout(Duration.ofSeconds(120))
        .PUT(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    assertTrue(r.statusCode() == 200 || r.statusCode() == 201, r.statusCode() + " " + r.body());
  }
}
