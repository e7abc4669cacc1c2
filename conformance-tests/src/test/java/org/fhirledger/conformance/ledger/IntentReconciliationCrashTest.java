package org.fhirledger.conformance.ledger;

import org.fhirledger.conformance.TestIssuer;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance test of crash-safe writes: the gateway (a child JVM) is killed with SIGKILL after the EHR stored a
 * write but before the gateway heard back, so the write's INTENT is on the ledger without its OUTCOME. After a
 * restart on the same data directory, each intent has exactly one outcome recording what the EHR holds, and the log
 * verifies with nothing but the verifier key.
 *
 * <p>One kill and one restart serve every test (gateway start-ups are slow on a loaded machine): an update of a
 * known resource and a create (found again by its request id) are both in flight when the gateway dies.
 */
class IntentReconciliationCrashTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(300);
  private static final Duration STORE_TIMEOUT = Duration.ofSeconds(120);

  @TempDir static Path dir;
  private static SandboxEhr ehr;
  private static WithholdingRelay relay;
  private static GatewayChild gateway;

  private static String patientId;
  private static String updatedId;
  private static String createdFamily;
  private static List<EntryRecord> ledger;
  private static Checkpoint checkpoint;

  @BeforeAll
  static void writeKillAndRestart() throws Exception {
    ehr = SandboxEhr.start(dir.resolve("ehr"));
    relay = new WithholdingRelay(new InetSocketAddress("127.0.0.1", ehr.baseUrl().getPort()));
    Path gatewayData = Files.createDirectories(dir.resolve("gateway"));
    gateway = startGateway(gatewayData, "first");

    HttpResponse<String> created = send(gateway.root(), "POST", "/fhir/Patient", patientJson("Crashworthy"));
    assertEquals(201, created.statusCode(), created.body());
    patientId = created.headers().firstValue("Location").orElseThrow().split("/")[5];
    // The update is of an Observation: a Patient's own id never goes on the ledger (only its
    // pseudonym), so an Observation is what exercises reconciliation by a known id.
    HttpResponse<String> observation = send(gateway.root(), "POST", "/fhir/Observation", observationJson("first"));
    assertEquals(201, observation.statusCode(), observation.body());
    updatedId = observation.headers().firstValue("Location").orElseThrow().split("/")[5];

    relay.withholdWriteResponses(true);
    createdFamily = "Crashcreated" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    String update = observationJson("second").replace("{\"resourceType\":\"Observation\",",
        "{\"resourceType\":\"Observation\",\"id\":\"" + updatedId + "\",");
    HTTP.sendAsync(request(gateway.root(), "PUT", "/fhir/Observation/" + updatedId, update),
        HttpResponse.BodyHandlers.discarding());
    HTTP.sendAsync(request(gateway.root(), "POST", "/fhir/Patient", patientJson(createdFamily)),
        HttpResponse.BodyHandlers.discarding());

    awaitInEhr("the update",
        () -> ehrObservation(updatedId).map(o -> "2".equals(o.getMeta().getVersionId())).orElse(false));
    awaitInEhr("the create", () -> ehrSearch("family=" + createdFamily).getEntry().size() == 1);

    gateway.kill();
    relay.withholdWriteResponses(false);
    gateway = startGateway(gatewayData, "second");

    LedgerOverHttp overHttp = new LedgerOverHttp(HTTP, gateway.root());
    checkpoint = overHttp.verifyLog();
    ledger = new ArrayList<>();
    for (byte[] entry : overHttp.entries(checkpoint)) {
      ledger.add(EntryCodec.decode(entry));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (gateway != null) {
      gateway.close();
    }
    if (relay != null) {
      relay.close();
    }
    if (ehr != null) {
      ehr.close();
    }
  }

  @Test
  void restart_updateKilledBeforeOutcome_outcomeRecordsDigestOfStoredVersion() throws Exception {
    int intent = onlyIndex(r -> r.type() == EntryType.INTENT && r.interaction() == Interaction.UPDATE
        && updatedId.equals(r.resourceId()));
    EntryRecord outcome = onlyOutcomeOf(intent);
    Observation stored = ehrObservation(updatedId).orElseThrow();

    assertEquals(Interaction.RECONCILE, outcome.interaction());
    assertEquals(Outcome.SUCCESS, outcome.outcome());
    assertEquals(200, outcome.httpStatus());
    assertEquals("Observation", outcome.resourceType());
    assertEquals(updatedId, outcome.resourceId());
    assertEquals("2", outcome.resourceVersion());
    assertArrayEquals(canonicalSha256(stored), outcome.contentSha256());
    assertEquals(1, outcome.patients().size(), "the patient whose data changed is named by its pseudonym");
    assertEquals(ledger.get(intent).requestId(), outcome.requestId());
  }

  @Test
  void restart_createKilledBeforeOutcome_foundByRequestIdAndDigestRecorded() throws Exception {
    Patient stored = (Patient) ehrSearch("family=" + createdFamily).getEntry().get(0).getResource();
    String requestId = stored.getMeta().getSource().substring(stored.getMeta().getSource().indexOf('#') + 1);
    int intent = onlyIndex(r -> r.type() == EntryType.INTENT && r.interaction() == Interaction.CREATE
        && requestId.equals(r.requestId()));
    EntryRecord outcome = onlyOutcomeOf(intent);

    assertNull(ledger.get(intent).resourceId(), "a create's intent cannot know the id");
    assertEquals(Interaction.RECONCILE, outcome.interaction());
    assertEquals(Outcome.SUCCESS, outcome.outcome());
    assertEquals(200, outcome.httpStatus());
    assertNull(outcome.resourceId(), "a patient is named by its pseudonym, never its id");
    assertEquals(1, outcome.patients().size());
    assertArrayEquals(canonicalSha256(stored), outcome.contentSha256());
  }

  @Test
  void restart_afterReconciliation_everyIntentHasExactlyOneOutcome() {
    Map<Long, Long> outcomesPerIntent = ledger.stream().filter(r -> r.type() == EntryType.OUTCOME)
        .collect(Collectors.groupingBy(EntryRecord::intentIndex, Collectors.counting()));
    for (int i = 0; i < ledger.size(); i++) {
      if (ledger.get(i).type() == EntryType.INTENT) {
        assertEquals(1L, outcomesPerIntent.getOrDefault((long) i, 0L), "outcomes of the intent at " + i);
      }
    }
  }

  @Test
  void restart_afterReconciliation_logVerifiesWithTheVerifierKeyOnly() throws Exception {
    Checkpoint now = new LedgerOverHttp(HTTP, gateway.root()).verifyLog();

    assertTrue(now.size() >= checkpoint.size());
    assertTrue(checkpoint.size() >= 5, "create, two intents, two reconciled outcomes at least");
  }

  @Test
  void restart_afterReconciliation_watermarkStoredSoTheNextStartSkipsTheSettledLog() throws Exception {
    String stored = Files.readString(dir.resolve("gateway").resolve("ledger").resolve("reconcile-watermark")).trim();
    long watermark = Long.parseLong(stored.substring(stored.indexOf(' ') + 1));

    assertEquals("crash.test/ledger", stored.substring(0, stored.indexOf(' ')));
    assertTrue(watermark >= checkpoint.size(), "every settled intent is below the watermark: " + watermark);
  }

  @Test
  void erasePseudonym_notEnabledByDefault_refusedWith403AndRecorded() throws Exception {
    HttpResponse<String> refused = send(gateway.root(), "POST", "/fhir/Patient/" + patientId + "/$erase-pseudonym", "");

    assertEquals(403, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("OperationOutcome") && refused.body().contains("not enabled"), refused.body());
    long index = Long.parseLong(refused.headers().firstValue("X-Ledger-Index").orElseThrow());
    LedgerOverHttp overHttp = new LedgerOverHttp(HTTP, gateway.root());
    EntryRecord entry = EntryCodec.decode(overHttp.entries(overHttp.verifyLog()).get((int) index));
    assertEquals(Outcome.DENIED, entry.outcome());
  }

  private static int onlyIndex(Predicate<EntryRecord> which) {
    List<Integer> found = new ArrayList<>();
    for (int i = 0; i < ledger.size(); i++) {
      if (which.test(ledger.get(i))) {
        found.add(i);
      }
    }
    assertEquals(1, found.size(), "matching entries " + found);
    return found.get(0);
  }

  private static EntryRecord onlyOutcomeOf(int intent) {
    List<EntryRecord> outcomes = ledger.stream()
        .filter(r -> r.type() == EntryType.OUTCOME && r.intentIndex() == intent).toList();
    assertEquals(1, outcomes.size(), "outcomes of the intent at " + intent);
    assertTrue(ledger.indexOf(outcomes.get(0)) > intent);
    return outcomes.get(0);
  }

  private static GatewayChild startGateway(Path data, String run) throws Exception {
    Path logs = Files.createDirectories(Path.of("target", "gateway-child-logs"));
    return GatewayChild.start(logs.resolve(IntentReconciliationCrashTest.class.getSimpleName() + "-" + run + ".log"),
        START_TIMEOUT,
        "--server.port=0",
        "--gateway.data-dir=" + data,
        "--gateway.ledger.origin=crash.test/ledger",
        "--gateway.upstream.base-url=http://127.0.0.1:" + relay.port() + "/fhir",
        // The withheld answer must never time out into a recorded 504 before the kill.
        "--gateway.upstream.read-timeout=600s",
        "--gateway.security.issuer=" + TestIssuer.shared().issuer(),
        "--gateway.security.audience=" + TestIssuer.SUITE_AUDIENCE);
  }

  private interface Check {
    boolean holds() throws Exception;
  }

  /** Polls the EHR directly, with a deadline: the relay withholds its answers from the gateway. */
  private static void awaitInEhr(String what, Check check) throws Exception {
    Instant deadline = Instant.now().plus(STORE_TIMEOUT);
    while (!check.holds()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError(what + " did not reach the EHR within " + STORE_TIMEOUT);
      }
      Thread.sleep(100); // polling interval, not synchronisation: the condition is re-checked
    }
  }

  private static Optional<Patient> ehrPatient(String id) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl() + "/Patient/" + id))
        .header("Accept", "application/fhir+json").timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.statusCode() == 200 ? Optional.of(FHIR.newJsonParser().parseResource(Patient.class, r.body()))
        : Optional.empty();
  }

  private static Optional<Observation> ehrObservation(String id) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl() + "/Observation/" + id))
        .header("Accept", "application/fhir+json").timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    return r.statusCode() == 200 ? Optional.of(FHIR.newJsonParser().parseResource(Observation.class, r.body()))
        : Optional.empty();
  }

  private static Bundle ehrSearch(String query) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl() + "/Patient?" + query))
        .header("Accept", "application/fhir+json").timeout(Duration.ofSeconds(30)).build(),
        HttpResponse.BodyHandlers.ofString());
    return FHIR.newJsonParser().parseResource(Bundle.class, r.body());
  }

  private static byte[] canonicalSha256(IBaseResource resource) throws Exception {
    String json = FHIR.newJsonParser().setPrettyPrint(false).encodeResourceToString(resource);
    return MessageDigest.getInstance("SHA-256").digest(json.getBytes(StandardCharsets.UTF_8));
  }

  private static HttpRequest request(String root, String method, String path, String json) {
    return HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(600))
        .header("Content-Type", "application/fhir+json").header("Authorization", "Bearer " + TestIssuer.suiteToken())
        .method(method, HttpRequest.BodyPublishers.ofString(json)).build();
  }

  private static HttpResponse<String> send(String root, String method, String path, String json) throws Exception {
    return HTTP.send(request(root, method, path, json), HttpResponse.BodyHandlers.ofString());
  }

  private static String observationJson(String value) {
    return "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"crash test\"},"
        + "\"subject\":{\"reference\":\"Patient/" + patientId + "\"},\"valueString\":\"" + value + "\"}";
  }

  private static String patientJson(String family) {
    return "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + family + "\",\"given\":[\"Synthetic\"]}]}";
  }
}
