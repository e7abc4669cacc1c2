package org.fhirledger.conformance.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.gateway.GatewayApplication;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.verify.HttpLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Every interaction through the gateway is on its ledger, provably: a black-box check over HTTP
 * with nothing but the gateway's verifier key, plus the fail-closed rule when the ledger is down.
 */
class LedgerRecordingTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir static Path dataDir;
  private static ConfigurableApplicationContext gateway;
  private static String root;

  @BeforeAll
  static void startGateway() {
    gateway = new SpringApplicationBuilder(GatewayApplication.class)
        .properties(TestIssuer.withGatewayProperties("server.port=0", "gateway.data-dir=" + dataDir, "gateway.ledger.origin=gateway.test/ledger"))
        .run();
    root = "http://localhost:" + ((WebServerApplicationContext) gateway).getWebServer().getPort();
  }

  @AfterAll
  static void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void create_patient_outcomeEntryHoldsDigestOfStoredVersionAndIsProvablyIncluded() throws Exception {
    HttpResponse<String> created = send("POST", "/fhir/Patient", patientJson("Ledgerton"));
    assertEquals(201, created.statusCode());
    long index = ledgerIndex(created);
    String location = created.headers().firstValue("Location").orElseThrow();
    assertTrue(location.startsWith(root + "/fhir/Patient/"), location);

    // The version the EHR stored, read back through the gateway, in canonical JSON.
    HttpResponse<String> stored = send("GET", location.substring(root.length()) + "?_format=json", null);
    Patient version = FHIR.newJsonParser().parseResource(Patient.class, stored.body());
    byte[] expected = sha256(FHIR.newJsonParser().setPrettyPrint(false).encodeResourceToString(version));

    NoteVerifier vkey = NoteVerifier.parse(send("GET", "/ledger/vkey", null).body().trim());
    LogVerifier verifier = new LogVerifier(vkey);
    JsonNode proofJson = JSON.readTree(send("GET", "/ledger/proof/inclusion?index=" + index, null).body());
    Checkpoint checkpoint = verifier.openCheckpoint(proofJson.get("checkpoint").asText());
    byte[] entry = entryAt(index, checkpoint.size());

    EntryRecord record = EntryCodec.decode(entry);
    assertEquals(EntryType.OUTCOME, record.type());
    assertEquals(Interaction.CREATE, record.interaction());
    assertEquals(Outcome.SUCCESS, record.outcome());
    assertEquals(201, record.httpStatus());
    assertEquals("Patient", record.resourceType());
    assertEquals(null, record.resourceId(), "a patient is named by its pseudonym only, never its id");
    assertArrayEquals(expected, record.contentSha256());
    assertEquals(1, record.patients().size(), "the created patient is named by one pseudonym");

    EntryRecord intent = EntryCodec.decode(entryAt(record.intentIndex(), checkpoint.size()));
    assertEquals(EntryType.INTENT, intent.type());
    assertTrue(record.intentIndex() < index, "the intent was recorded before the outcome");

    verifier.verifyInclusion(checkpoint, entry, inclusionProof(proofJson));
    verifier.verifyLog(new HttpLogSource(URI.create(root + "/ledger/"), HTTP, Duration.ofSeconds(10)));
  }

  @Test
  void read_patient_entryNamesPseudonymNeverTheName() throws Exception {
    HttpResponse<String> created = send("POST", "/fhir/Patient", patientJson("Zyxwvutsonian"));
    String path = created.headers().firstValue("Location").orElseThrow().substring(root.length());
    String id = path.split("/")[3];

    HttpResponse<String> read = send("GET", "/fhir/Patient/" + id, null);
    assertEquals(200, read.statusCode());
    long index = ledgerIndex(read);

    Checkpoint checkpoint = verifiedCheckpoint();
    byte[] entry = entryAt(index, checkpoint.size());
    EntryRecord record = EntryCodec.decode(entry);
    assertEquals(EntryType.INTERACTION, record.type());
    assertEquals(Interaction.READ, record.interaction());
    assertEquals(1, record.patients().size());
    assertEquals(TestIssuer.SUITE_CLIENT, record.actor().clientId(), "the caller is the token's client");
    assertEquals(null, record.contextPatient(), "a system token has no patient in context");
    String bytes = new String(entry, StandardCharsets.ISO_8859_1);
    assertFalse(bytes.contains("Zyxwvutsonian"), "no PHI on the ledger");
    assertFalse(bytes.contains("Patient/" + id), "patients appear only as pseudonyms");
  }

  @Test
  void read_clientRequestId_neverReachesTheLedger() throws Exception {
    HttpResponse<String> read = HTTP.send(HttpRequest.newBuilder(URI.create(root + "/fhir/Patient?_count=1"))
        .header("X-Request-ID", "mrn-7654321").header("Authorization", "Bearer " + TestIssuer.suiteToken()).build(), HttpResponse.BodyHandlers.ofString());

    assertEquals(200, read.statusCode());
    EntryRecord record = EntryCodec.decode(entryAt(ledgerIndex(read), verifiedCheckpoint().size()));
    assertFalse(record.requestId().contains("7654321"), "a client-chosen id could carry PHI");
    assertEquals(record.requestId(), read.headers().firstValue("X-Request-ID").orElseThrow(),
        "the response names the gateway's own request id, the one on the ledger");
  }

  @Test
  void search_and_refusals_eachGetAnEntry() throws Exception {
    HttpResponse<String> search = send("GET", "/fhir/Patient?_count=2", null);
    HttpResponse<String> unknownType = send("GET", "/fhir/NotAResource/1", null);
    HttpResponse<String> malformed = send("POST", "/fhir/Patient", "{\"resourceType\":\"Patient\",");

    assertEquals(200, search.statusCode());
    assertEquals(404, unknownType.statusCode());
    assertEquals(400, malformed.statusCode());
    Checkpoint checkpoint = verifiedCheckpoint();
    EntryRecord s = EntryCodec.decode(entryAt(ledgerIndex(search), checkpoint.size()));
    EntryRecord u = EntryCodec.decode(entryAt(ledgerIndex(unknownType), checkpoint.size()));
    EntryRecord m = EntryCodec.decode(entryAt(ledgerIndex(malformed), checkpoint.size()));
    assertEquals(Interaction.SEARCH, s.interaction());
    assertEquals(Outcome.FAILED, u.outcome());
    assertEquals(404, u.httpStatus());
    assertEquals(null, u.resourceType(), "a type that is not FHIR is not written to the ledger");
    assertEquals(400, m.httpStatus());
  }

  @Test
  void transaction_eachEntryHasItsOwnOutcome() throws Exception {
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    for (int i = 0; i < 3; i++) {
      Patient p = new Patient();
      p.addName().setFamily("Txperson" + i);
      tx.addEntry().setResource(p).setFullUrl("urn:uuid:00000000-0000-0000-0000-00000000000" + i)
          .getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Patient");
    }
    HttpResponse<String> answer = send("POST", "/fhir", FHIR.newJsonParser().encodeResourceToString(tx));
    assertEquals(200, answer.statusCode());
    long intentIndex = ledgerIndex(answer);

    Checkpoint checkpoint = verifiedCheckpoint();
    assertEquals(EntryType.INTENT, EntryCodec.decode(entryAt(intentIndex, checkpoint.size())).type());
    List<EntryRecord> outcomes = new ArrayList<>();
    for (long i = intentIndex + 1; i < checkpoint.size(); i++) {
      EntryRecord r = EntryCodec.decode(entryAt(i, checkpoint.size()));
      if (r.type() == EntryType.OUTCOME && r.intentIndex() == intentIndex) {
        outcomes.add(r);
      }
    }
    assertEquals(3, outcomes.size());
    outcomes.forEach(r -> {
      assertEquals(Interaction.CREATE, r.interaction());
      assertEquals(201, r.httpStatus());
      assertEquals(1, r.patients().size());
    });
  }

  @Test
  void ledgerDown_everyInteraction_refusedWith503AndNoWriteReachesTheEhr(@TempDir Path otherDir) throws Exception {
    ConfigurableApplicationContext broken = new SpringApplicationBuilder(GatewayApplication.class)
        .properties(TestIssuer.withGatewayProperties("server.port=0", "gateway.data-dir=" + otherDir))
        .run();
    try {
      String base = "http://localhost:" + ((WebServerApplicationContext) broken).getWebServer().getPort();
      String ehr = broken.getBean(SandboxEhr.class).baseUrl().toString();
      int before = countPatients(ehr);
      broken.getBean(Ledger.class).close();

      HttpResponse<String> write = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/fhir/Patient"))
          .header("Content-Type", "application/fhir+json").header("Authorization", "Bearer " + TestIssuer.suiteToken())
          .POST(HttpRequest.BodyPublishers.ofString(patientJson("Unrecorded"))).build(),
          HttpResponse.BodyHandlers.ofString());
      HttpResponse<String> read = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/fhir/Patient")).header("Authorization", "Bearer " + TestIssuer.suiteToken()).build(),
          HttpResponse.BodyHandlers.ofString());

      assertEquals(503, write.statusCode());
      assertTrue(write.body().contains("OperationOutcome") && write.body().contains("ledger"), write.body());
      assertEquals(503, read.statusCode());
      assertEquals(before, countPatients(ehr), "the EHR received no write");
    } finally {
      broken.close();
    }
  }

  private static int countPatients(String ehrBase) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehrBase + "/Patient?_summary=count")).build(),
        HttpResponse.BodyHandlers.ofString());
    return FHIR.newJsonParser().parseResource(Bundle.class, r.body()).getTotal();
  }

  private static Checkpoint verifiedCheckpoint() throws Exception {
    NoteVerifier vkey = NoteVerifier.parse(send("GET", "/ledger/vkey", null).body().trim());
    return new LogVerifier(vkey).openCheckpoint(send("GET", "/ledger/checkpoint", null).body());
  }

  /** Reads entry {@code index} from its entry bundle as of tree size {@code size}, over HTTP. */
  private static byte[] entryAt(long index, long size) throws Exception {
    long tile = index / 256;
    int width = (int) Math.min(256, size - tile * 256);
    HttpLogSource source = new HttpLogSource(URI.create(root + "/ledger/"), HTTP, Duration.ofSeconds(10));
    List<byte[]> entries = EntryBundles.decode(source.entryBundle(tile, width), width, "bundle " + tile);
    return entries.get((int) (index % 256));
  }

  private static InclusionProof inclusionProof(JsonNode json) {
    List<byte[]> hashes = new ArrayList<>();
    json.get("hashes").forEach(h -> hashes.add(Base64.getDecoder().decode(h.asText())));
    return new InclusionProof(json.get("index").asLong(), json.get("treeSize").asLong(), hashes);
  }

  private static long ledgerIndex(HttpResponse<?> response) {
    String value = response.headers().firstValue("X-Ledger-Index").orElse(null);
    assertNotNull(value, "every response carries X-Ledger-Index");
    return Long.parseLong(value);
  }

  private static HttpResponse<String> send(String method, String path, String json) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + TestIssuer.suiteToken());
    if (json != null) {
      b.header("Content-Type", "application/fhir+json");
    }
    b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String patientJson(String family) {
    return "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + family + "\",\"given\":[\"Synthetic\"]}]}";
  }

  private static byte[] sha256(String s) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
  }
}
