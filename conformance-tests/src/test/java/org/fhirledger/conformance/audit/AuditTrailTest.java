package org.fhirledger.conformance.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.gateway.GatewayApplication;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.PatientSecretStore;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.verify.LogVerifier;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The gateway's audit trail, black-box over HTTP: AuditEvent search served from the ledger (BALP
 * shape, validated against the gateway's profile with HAPI's validator), paging at the gateway,
 * refusal of bad input, and the patient access report whose every item is proven against the
 * signed checkpoint with nothing but the log's verifier key.
 */
class AuditTrailTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final String ORIGIN = "gateway.test/audit";

  @TempDir static Path dataDir;
  private static ConfigurableApplicationContext gateway;
  private static String root;
  private static FhirValidator validator;
  private static String patientId;
  private static Instant before;

  @BeforeAll
  static void startGatewayAndRecordSomeAccesses() throws Exception {
    gateway = new SpringApplicationBuilder(GatewayApplication.class)
        .properties(TestIssuer.withGatewayProperties("server.port=0", "gateway.data-dir=" + dataDir, "gateway.ledger.origin=" + ORIGIN))
        .run();
    root = "http://localhost:" + ((WebServerApplicationContext) gateway).getWebServer().getPort();
    validator = FHIR.newValidator()
        .registerValidatorModule(new FhirInstanceValidator(GatewayProfiles.validationSupport(FHIR)));

    before = Instant.now().minusSeconds(1);
    HttpResponse<String> created = send("POST", "/fhir/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Auditson\",\"given\":[\"Synthetic\"]}]}");
    assertEquals(201, created.statusCode(), created.body());
    patientId = created.headers().firstValue("Location").orElseThrow().split("/fhir/Patient/")[1].split("/")[0];
    for (int i = 0; i < 3; i++) {
      assertEquals(200, send("GET", "/fhir/Patient/" + patientId, null).statusCode());
    }
    HttpResponse<String> obs = send("POST", "/fhir/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
        + "\"code\":{\"text\":\"pulse\"},\"subject\":{\"reference\":\"Patient/" + patientId + "\"}}");
    assertEquals(201, obs.statusCode(), obs.body());
  }

  @AfterAll
  static void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void search_byPatient_balpEventsValidateAndCarryTheirLedgerIndex() throws Exception {
    HttpResponse<String> response = send("GET", "/fhir/AuditEvent?patient=Patient/" + patientId, null);

    assertEquals(200, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("X-Ledger-Index").isPresent(), "the search is itself recorded");
    List<AuditEvent> events = events(FHIR.newJsonParser().parseResource(Bundle.class, response.body()));
    Set<String> subtypes = new TreeSet<>();
    for (AuditEvent event : events) {
      assertValid(event);
      String index = ledgerEntry(event, "index");
      assertEquals(index, event.getIdElement().getIdPart(), "the id is the ledger index");
      assertEquals(ORIGIN, ledgerEntry(event, "origin"));
      assertTrue(event.getEntity().stream().anyMatch(e -> ("Patient/" + patientId).equals(e.getWhat().getReference())
          && "1".equals(e.getType().getCode()) && "1".equals(e.getRole().getCode())), "BALP patient entity");
      assertBalpRoles(event);
      subtypes.add(event.getSubtypeFirstRep().getCode() + ":" + event.getAction().toCode());
    }
    assertTrue(subtypes.containsAll(Set.of("create:C", "read:R")), subtypes.toString());
    assertEquals(3, subtypes.contains("read:R") ? events.stream().filter(e -> e.getAction() == AuditEvent.AuditEventAction.R).count() : -1);
  }

  @Test
  void search_byEntityActionAgentAndDate_filtersToTheMatchingAccesses() throws Exception {
    String query = "/fhir/AuditEvent?entity=Patient/" + patientId + "&action=R&agent=" + TestIssuer.SUITE_CLIENT + "&date=ge"
        + URLEncoder.encode(before.truncatedTo(ChronoUnit.SECONDS).toString(), StandardCharsets.UTF_8)
        + "&date=le" + URLEncoder.encode(Instant.now().plusSeconds(60).truncatedTo(ChronoUnit.SECONDS).toString(), StandardCharsets.UTF_8);
    HttpResponse<String> response = send("GET", query, null);
    HttpResponse<String> future = send("GET", "/fhir/AuditEvent?entity=Patient/" + patientId + "&date=gt2100-01-01", null);

    assertEquals(200, response.statusCode(), response.body());
    List<AuditEvent> reads = events(FHIR.newJsonParser().parseResource(Bundle.class, response.body()));
    assertEquals(3, reads.size());
    reads.forEach(e -> {
      assertEquals("read", e.getSubtypeFirstRep().getCode());
      assertEquals("Patient/" + patientId, e.getEntity().stream().filter(x -> "2".equals(x.getType().getCode()))
          .findFirst().orElseThrow().getWhat().getReference());
    });
    assertEquals(0, FHIR.newJsonParser().parseResource(Bundle.class, future.body()).getEntry().size());
  }

  @Test
  void search_pagedByTwo_linksPointAtTheGatewayAndCoverEveryMatch() throws Exception {
    Bundle first = FHIR.newJsonParser().parseResource(Bundle.class,
        send("GET", "/fhir/AuditEvent?agent=" + TestIssuer.SUITE_CLIENT + "&_count=2", null).body());
    int total = first.getTotal();
    Set<String> seen = new LinkedHashSet<>();
    Bundle page = first;
    int pages = 0;
    while (true) {
      events(page).forEach(e -> seen.add(e.getIdElement().getIdPart()));
      pages++;
      Bundle.BundleLinkComponent next = page.getLink(Bundle.LINK_NEXT);
      if (next == null || pages > 100) {
        break;
      }
      assertTrue(next.getUrl().startsWith(root + "/fhir"), next.getUrl());
      page = FHIR.newJsonParser().parseResource(Bundle.class, send("GET", next.getUrl().substring(root.length()), null).body());
    }

    assertTrue(total >= 6, "at least the setup's interactions, was " + total);
    assertTrue(first.getLink(Bundle.LINK_NEXT).getUrl().contains("ledger-size="), "pages are pinned to one tree size");
    assertTrue(pages >= 3);
    assertEquals(total, seen.size(), "every match exactly once, in ledger order: " + seen);
  }

  @Test
  void search_patientWithoutPseudonym_findsNothing() throws Exception {
    HttpResponse<String> response = send("GET", "/fhir/AuditEvent?patient=Patient/never-seen-here", null);

    assertEquals(200, response.statusCode());
    assertEquals(0, FHIR.newJsonParser().parseResource(Bundle.class, response.body()).getEntry().size());
  }

  @Test
  void search_erasedPatient_findsNothingAndDoesNotRelinkThePatient() throws Exception {
    HttpResponse<String> created = send("POST", "/fhir/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Forgotten\"}]}");
    String id = created.headers().firstValue("Location").orElseThrow().split("/fhir/Patient/")[1].split("/")[0];
    assertEquals(200, send("GET", "/fhir/Patient/" + id, null).statusCode());
    assertFalse(events(FHIR.newJsonParser().parseResource(Bundle.class,
        send("GET", "/fhir/AuditEvent?patient=Patient/" + id, null).body())).isEmpty());
    PatientSecretStore secrets = gateway.getBean(PatientSecretStore.class);

    assertTrue(secrets.erase("Patient/" + id));
    HttpResponse<String> search = send("GET", "/fhir/AuditEvent?patient=Patient/" + id, null);
    HttpResponse<String> report = send("GET", "/fhir/Patient/" + id + "/$access-report", null);

    assertEquals(0, FHIR.newJsonParser().parseResource(Bundle.class, search.body()).getEntry().size());
    assertEquals(200, report.statusCode(), report.body());
    assertFalse(FHIR.newJsonParser().parseResource(Parameters.class, report.body()).getParameter().stream()
        .anyMatch(p -> p.getName().equals("access")));
    assertTrue(secrets.existingSecret("Patient/" + id).isEmpty(), "auditing an erased patient re-created no secret");
  }

  @Test
  void search_isItselfAnAccess_recordedAndFoundByTheNextSearch() throws Exception {
    HttpResponse<String> first = send("GET", "/fhir/AuditEvent?patient=Patient/" + patientId, null);
    long index = Long.parseLong(first.headers().firstValue("X-Ledger-Index").orElseThrow());

    AuditEvent own = FHIR.newJsonParser().parseResource(AuditEvent.class,
        send("GET", "/fhir/AuditEvent/" + index, null).body());
    Bundle again = FHIR.newJsonParser().parseResource(Bundle.class,
        send("GET", "/fhir/AuditEvent?patient=Patient/" + patientId + "&action=E", null).body());

    assertValid(own);
    assertEquals("search-type", own.getSubtypeFirstRep().getCode());
    assertEquals("AuditEvent", own.getEntity().stream().filter(x -> "2".equals(x.getType().getCode())).findFirst()
        .orElseThrow().getWhat().getType());
    assertTrue(events(again).stream().anyMatch(e -> e.getIdElement().getIdPart().equals(Long.toString(index))));
  }

  @Test
  void auditEvent_writes_refusedAndTheEhrHoldsNoAuditEvent() throws Exception {
    HttpResponse<String> write = send("POST", "/fhir/AuditEvent", "{\"resourceType\":\"AuditEvent\"}");
    String ehr = gateway.getBean(SandboxEhr.class).baseUrl().toString();
    HttpResponse<String> inEhr = HTTP.send(HttpRequest.newBuilder(URI.create(ehr + "/AuditEvent?_summary=count")).build(),
        HttpResponse.BodyHandlers.ofString());

    assertTrue(write.statusCode() >= 400 && write.statusCode() < 500, write.statusCode() + " " + write.body());
    assertEquals(0, FHIR.newJsonParser().parseResource(Bundle.class, inEhr.body()).getTotal());
  }

  @Test
  void auditEvent_inBundlesOrSystemTypeSearch_refusedWith400AndNothingReachesTheEhr() throws Exception {
    String tx = """
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"resource":{"resourceType":"Basic","code":{"text":"ok"}},"request":{"method":"POST","url":"Basic"}},
          {"resource":{"resourceType":"AuditEvent"},"request":{"method":"POST","url":"AuditEvent"}}]}""";
    String batch = """
        {"resourceType":"Bundle","type":"batch","entry":[{"request":{"method":"GET","url":"AuditEvent?_count=1"}}]}""";
    String ehr = gateway.getBean(SandboxEhr.class).baseUrl().toString();
    int basicsBefore = count(ehr + "/Basic?_summary=count");

    HttpResponse<String> writeInTx = send("POST", "/fhir", tx);
    HttpResponse<String> readInBatch = send("POST", "/fhir", batch);
    HttpResponse<String> typeSearch = send("GET", "/fhir?_type=Patient,AuditEvent", null);

    for (HttpResponse<String> r : List.of(writeInTx, readInBatch, typeSearch)) {
      assertEquals(400, r.statusCode(), r.body());
      assertTrue(r.body().contains("OperationOutcome") && r.body().contains("AuditEvent"), r.body());
      assertTrue(r.headers().firstValue("X-Ledger-Index").isPresent(), "the refusal is recorded");
    }
    assertTrue(writeInTx.body().contains("Bundle.entry[1]"), writeInTx.body());
    assertEquals(0, count(ehr + "/AuditEvent?_summary=count"));
    assertEquals(basicsBefore, count(ehr + "/Basic?_summary=count"), "no half-done transaction");
  }

  private static int count(String url) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
    return FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getTotal();
  }

  @Test
  void badInput_400WithOperationOutcomeNamingTheParameter() throws Exception {
    assertRefused("/fhir/AuditEvent?date=not-a-date", "date");
    assertRefused("/fhir/AuditEvent?action=X", "action");
    assertRefused("/fhir/AuditEvent?_count=many", "_count");
    assertRefused("/fhir/AuditEvent?subtype=read", "subtype");
    assertRefused("/fhir/Patient/" + patientId + "/$access-report?start=yesterday", "start");
    assertRefused("/fhir/Patient/" + patientId + "/$access-report?start=2026-02-01&end=2026-01-01", "start");
  }

  @Test
  void accessReport_everyAccessListedAndProvenWithOnlyTheVerifierKey() throws Exception {
    String today = Instant.now().toString().substring(0, 10);
    HttpResponse<String> response = send("GET", "/fhir/Patient/" + patientId + "/$access-report?start=" + today
        + "&end=" + Instant.now().plus(1, ChronoUnit.DAYS).toString().substring(0, 10), null);

    assertEquals(200, response.statusCode(), response.body());
    assertTrue(response.headers().firstValue("X-Ledger-Index").isPresent());
    Parameters report = FHIR.newJsonParser().parseResource(Parameters.class, response.body());
    LogVerifier verifier = new LogVerifier(NoteVerifier.parse(send("GET", "/ledger/vkey", null).body().trim()));
    Checkpoint checkpoint = verifier.openCheckpoint(report.getParameter("checkpoint").getValue().primitiveValue());
    List<ParametersParameterComponent> accesses = report.getParameter().stream()
        .filter(p -> p.getName().equals("access")).toList();
    Set<String> interactions = new TreeSet<>();
    for (ParametersParameterComponent access : accesses) {
      long index = Long.parseLong(part(access, "ledgerIndex").getValue().primitiveValue());
      byte[] entry = ((Base64BinaryType) part(access, "entry").getValue()).getValue();
      ParametersParameterComponent proofPart = part(access, "inclusionProof");
      List<byte[]> hashes = new ArrayList<>();
      proofPart.getPart().stream().filter(p -> p.getName().equals("hash"))
          .forEach(p -> hashes.add(((Base64BinaryType) p.getValue()).getValue()));
      InclusionProof proof = new InclusionProof(index, Long.parseLong(part(proofPart, "treeSize").getValue().primitiveValue()), hashes);

      verifier.verifyInclusion(checkpoint, entry, proof);
      EntryRecord record = EntryCodec.decode(entry);
      assertEquals(record.time(), Instant.parse(part(access, "time").getValue().primitiveValue()));
      assertEquals(record.actor().clientId(), ((org.hl7.fhir.r4.model.Identifier) part(access, "client").getValue()).getValue());
      assertNotNull(part(access, "outcome"));
      interactions.add(part(access, "interaction").getValue().primitiveValue());
    }
    assertTrue(interactions.containsAll(Set.of("create", "read")), interactions.toString());
    assertTrue(accesses.size() >= 5, "create, three reads and the observation's create, was " + accesses.size());

    byte[] entry = ((Base64BinaryType) part(accesses.get(0), "entry").getValue()).getValue();
    entry[entry.length - 1] ^= 1;
    ParametersParameterComponent proofPart = part(accesses.get(0), "inclusionProof");
    List<byte[]> hashes = new ArrayList<>();
    proofPart.getPart().stream().filter(p -> p.getName().equals("hash"))
        .forEach(p -> hashes.add(((Base64BinaryType) p.getValue()).getValue()));
    InclusionProof proof = new InclusionProof(Long.parseLong(part(accesses.get(0), "ledgerIndex").getValue().primitiveValue()),
        checkpoint.size(), hashes);
    assertThrowsVerification(() -> verifier.verifyInclusion(checkpoint, entry, proof));
  }

  private interface Verification {
    void run() throws LedgerVerificationException;
  }

  private static void assertThrowsVerification(Verification v) {
    try {
      v.run();
    } catch (LedgerVerificationException expected) {
      return;
    }
    throw new AssertionError("a tampered entry passed verification");
  }

  private static ParametersParameterComponent part(ParametersParameterComponent parent, String name) {
    return parent.getPart().stream().filter(p -> p.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no part " + name));
  }

  private static void assertRefused(String path, String parameter) throws Exception {
    HttpResponse<String> response = send("GET", path, null);
    assertEquals(400, response.statusCode(), path + " -> " + response.body());
    OperationOutcome outcome = FHIR.newJsonParser().parseResource(OperationOutcome.class, response.body());
    String diagnostics = outcome.getIssueFirstRep().getDiagnostics();
    assertTrue(diagnostics.contains("'" + parameter + "'"), diagnostics);
  }

  /**
   * IHE BALP (after DICOM): the client is the Source Role ID (110153) and the server the Destination Role ID (110152)
   * for reads as for writes, although for a read the data flows the other way.
   */
  private static void assertBalpRoles(AuditEvent event) {
    String interaction = event.getSubtypeFirstRep().getCode();
    AuditEvent.AuditEventAgentComponent client = agent(event, "110153");
    AuditEvent.AuditEventAgentComponent server = agent(event, "110152");
    assertTrue(client.getRequestor(), interaction + ": the client (110153) made the request");
    assertEquals(TestIssuer.SUITE_CLIENT, client.getWho().getIdentifier().getValue(), interaction);
    assertFalse(server.getRequestor(), interaction + ": the gateway (110152) served it");
    assertEquals(ORIGIN, server.getWho().getIdentifier().getValue(), interaction);
  }

  private static AuditEvent.AuditEventAgentComponent agent(AuditEvent event, String dicomRole) {
    List<AuditEvent.AuditEventAgentComponent> agents = event.getAgent().stream()
        .filter(a -> a.getType().getCoding().stream().anyMatch(c ->
            "http://dicom.nema.org/resources/ontology/DCM".equals(c.getSystem()) && dicomRole.equals(c.getCode())))
        .toList();
    assertEquals(1, agents.size(), "one agent with DICOM role " + dicomRole);
    return agents.get(0);
  }

  private static void assertValid(AuditEvent event) {
    String json = FHIR.newJsonParser().encodeResourceToString(event);
    ValidationResult result = validator.validateWithResult(json);
    List<SingleValidationMessage> errors = result.getMessages().stream()
        .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal()).toList();
    result.getMessages().stream().filter(m -> m.getSeverity() == ResultSeverityEnum.WARNING)
        .forEach(m -> System.out.println("VALIDATION-WARNING " + m.getLocationString() + " " + m.getMessage()));
    assertEquals(List.of(), errors, json);
  }

  private static String ledgerEntry(AuditEvent event, String part) {
    Extension ext = event.getExtensionByUrl(GatewayProfiles.LEDGER_ENTRY);
    assertNotNull(ext, "ledger-entry extension");
    return ext.getExtensionByUrl(part).getValue().primitiveValue();
  }

  private static List<AuditEvent> events(Bundle bundle) {
    assertFalse(bundle.getEntry().stream().anyMatch(e -> !(e.getResource() instanceof AuditEvent)));
    return bundle.getEntry().stream().map(e -> (AuditEvent) e.getResource()).toList();
  }

  private static HttpResponse<String> send(String method, String path, String json) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(60))
        .header("Accept", "application/fhir+json").header("Authorization", "Bearer " + TestIssuer.suiteToken());
    if (json != null) {
      b.header("Content-Type", "application/fhir+json");
    }
    b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }
}
