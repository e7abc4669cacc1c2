package org.fhirledger.conformance.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.ValidationResult;
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
import java.util.Comparator;
import java.util.List;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.verify.LogVerifier;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Provenance;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Issue 4's Provenance, black-box over HTTP: every successful write through the gateway gets a Provenance in the
 * EHR that HAPI's client finds with {@code _revinclude=Provenance:target}, whose ledger receipt names the write's
 * OUTCOME entry, whose entry holds the SHA-256 of the canonical JSON of the stored version, provably included
 * under the gateway's signed checkpoint; and each Provenance validates against the gateway's profile.
 */
class ProvenanceTest {

  private static final String ORIGIN = "gateway.test/provenance";
  private static final FhirContext FHIR = GatewayProfiles.keepVersionedProvenanceTargets(FhirContext.forR4());
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  private static RunningGateway gateway;
  private static String root;
  private static IGenericClient client;
  private static FhirValidator validator;
  private static LedgerOverHttp ledger;

  @BeforeAll
  static void start() {
    Path dir = RunningGateway.newDataDir("provenance");
    gateway = RunningGateway.start(dir, "gateway.ledger.origin=" + ORIGIN);
    root = gateway.baseUrl().substring(0, gateway.baseUrl().length() - "/fhir".length());
    ledger = new LedgerOverHttp(HTTP, root);
    FHIR.getRestfulClientFactory().setServerValidationMode(ServerValidationModeEnum.NEVER);
    client = FHIR.newRestfulGenericClient(gateway.baseUrl());
    client.registerInterceptor(new BearerTokenAuthInterceptor(TestIssuer.suiteToken()));
    validator = FHIR.newValidator()
        .registerValidatorModule(new FhirInstanceValidator(GatewayProfiles.validationSupport(FHIR)));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void create_provenanceFoundByRevinclude_receiptProvesTheStoredVersion() throws Exception {
    HttpResponse<String> created = send("POST", "/fhir/Observation", observationJson("final"));
    assertEquals(201, created.statusCode(), created.body());
    long index = ledgerIndex(created);
    String id = idFrom(created);

    Bundle found = client.search().byUrl("Observation?_id=" + id + "&_revinclude=Provenance:target")
        .returnBundle(Bundle.class).execute();
    List<Provenance> provenances = provenancesIn(found);
    assertEquals(1, provenances.size(), "one Provenance for one create");
    Provenance p = provenances.get(0);
    assertEquals("Observation/" + id + "/_history/1", p.getTargetFirstRep().getReference());
    assertEquals("CREATE", p.getActivity().getCodingFirstRep().getCode());
    assertEquals(GatewayProfiles.CLIENT_ID_SYSTEM, p.getAgentFirstRep().getWho().getIdentifier().getSystem());
    assertEquals(TestIssuer.SUITE_CLIENT, p.getAgentFirstRep().getWho().getIdentifier().getValue(),
        "the author is the token's client");
    assertValid(p);

    Receipt receipt = Receipt.of(p);
    assertEquals(ORIGIN, receipt.origin());
    assertEquals(index, receipt.index(), "the receipt names the entry the create's response named");

    // The entry at that index: the create's OUTCOME, with the digest of the stored version's canonical JSON.
    LogVerifier verifier = ledger.verifier();
    JsonNode proof = JSON.readTree(send("GET", "/ledger/proof/inclusion?index=" + index, null).body());
    Checkpoint checkpoint = verifier.openCheckpoint(proof.get("checkpoint").asText());
    byte[] entry = entryAt(index, checkpoint.size());
    assertArrayEquals(Rfc6962.leafHash(entry), receipt.leafHash(), "the receipt's leaf hash is the entry's");
    EntryRecord record = EntryCodec.decode(entry);
    assertEquals(EntryType.OUTCOME, record.type());
    assertEquals(Interaction.CREATE, record.interaction());
    assertEquals(id, record.resourceId());
    assertEquals("1", record.resourceVersion());
    String stored = send("GET", "/fhir/Observation/" + id + "/_history/1?_format=json", null).body();
    Observation version = FHIR.newJsonParser().parseResource(Observation.class, stored);
    assertArrayEquals(sha256(FHIR.newJsonParser().encodeResourceToString(version)), record.contentSha256());
    verifier.verifyInclusion(checkpoint, entry, inclusionProof(proof));
    ledger.verifyLog();
  }

  @Test
  void updatePatchDelete_eachVersionGetsItsProvenance() throws Exception {
    HttpResponse<String> created = send("POST", "/fhir/Observation", observationJson("preliminary"));
    String id = idFrom(created);
    List<Long> indices = new ArrayList<>(List.of(ledgerIndex(created)));

    HttpResponse<String> updated = send("PUT", "/fhir/Observation/" + id,
        observationJson("final").replace("{\"resourceType\":\"Observation\",", "{\"resourceType\":\"Observation\",\"id\":\"" + id + "\","));
    assertEquals(200, updated.statusCode(), updated.body());
    indices.add(ledgerIndex(updated));
    HttpResponse<String> patched = sendPatch("/fhir/Observation/" + id,
        "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"amended\"}]");
    assertEquals(200, patched.statusCode(), patched.body());
    indices.add(ledgerIndex(patched));
    HttpResponse<String> deleted = send("DELETE", "/fhir/Observation/" + id, null);
    assertTrue(deleted.statusCode() == 200 || deleted.statusCode() == 204, deleted.body());
    indices.add(ledgerIndex(deleted));

    Bundle search = client.search().byUrl("Provenance?target=Observation/" + id).returnBundle(Bundle.class).execute();
    List<Provenance> provenances = provenancesIn(search);
    // HAPI JPA does not index a reference to a deleted resource, so the delete's Provenance is not found by target
    // there: it is the newest Provenance in the EHR (the tests of this class run one at a time).
    Bundle newest = client.search().byUrl("Provenance?_sort=-_lastUpdated&_count=1").returnBundle(Bundle.class).execute();
    provenancesIn(newest).stream()
        .filter(p -> provenances.stream().noneMatch(q -> q.getIdElement().getIdPart().equals(p.getIdElement().getIdPart())))
        .forEach(provenances::add);
    provenances.sort(Comparator.comparing(p -> p.getTargetFirstRep().getReference()));
    assertEquals(4, provenances.size(), () -> "create, update, patch and delete each have one: "
        + provenances.stream().map(p -> p.getTargetFirstRep().getReference()).toList() + " for ledger entries " + indices);
    List<String> activities = List.of("CREATE", "UPDATE", "UPDATE", "DELETE");
    for (int v = 0; v < 4; v++) {
      Provenance p = provenances.get(v);
      assertEquals("Observation/" + id + "/_history/" + (v + 1), p.getTargetFirstRep().getReference());
      assertEquals(activities.get(v), p.getActivity().getCodingFirstRep().getCode());
      assertEquals(indices.get(v), Receipt.of(p).index());
      assertValid(p);
    }
  }

  @Test
  void transaction_eachWriteGetsProvenanceWithItsOwnEntry() throws Exception {
    String tx = """
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:5f6a0c2e-0000-4000-8000-000000000001",
           "resource":{"resourceType":"Patient","name":[{"family":"Provenanceson"}]},
           "request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:5f6a0c2e-0000-4000-8000-000000000002",
           "resource":{"resourceType":"Observation","status":"final",
             "code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},
             "subject":{"reference":"urn:uuid:5f6a0c2e-0000-4000-8000-000000000001"}},
           "request":{"method":"POST","url":"Observation"}}]}""";
    HttpResponse<String> answered = send("POST", "/fhir", tx);
    assertEquals(200, answered.statusCode(), answered.body());
    long intent = ledgerIndex(answered);
    Bundle response = FHIR.newJsonParser().parseResource(Bundle.class, answered.body());

    long size = ledger.verifier().openCheckpoint(send("GET", "/ledger/checkpoint", null).body()).size();
    List<Long> seen = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : response.getEntry()) {
      String location = e.getResponse().getLocation();
      String[] parts = location.split("/");
      String typeAndId = parts[parts.length - 4] + "/" + parts[parts.length - 3];
      Bundle found = client.search().byUrl("Provenance?target=" + typeAndId).returnBundle(Bundle.class).execute();
      List<Provenance> provenances = provenancesIn(found);
      assertEquals(1, provenances.size(), typeAndId);
      Provenance p = provenances.get(0);
      assertEquals(typeAndId + "/_history/1", p.getTargetFirstRep().getReference());
      assertValid(p);
      Receipt receipt = Receipt.of(p);
      EntryRecord record = EntryCodec.decode(entryAt(receipt.index(), size));
      assertEquals(EntryType.OUTCOME, record.type());
      assertEquals(intent, record.intentIndex(), "each entry's outcome points at the transaction's intent");
      assertArrayEquals(Rfc6962.leafHash(entryAt(receipt.index(), size)), receipt.leafHash());
      seen.add(receipt.index());
    }
    assertEquals(2, seen.stream().distinct().count(), "each write has its own ledger entry");
  }

  @Test
  void userTokenWithOrganization_userIsAuthorForTheOrganizationAndTheAppIsEnterer() throws Exception {
    String token = TestIssuer.shared().token().audience(TestIssuer.SUITE_AUDIENCE).clientId("lab-results-app")
        .scope("user/Observation.cruds").fhirUser("Practitioner/lab-tech-1").claim("organization", "Organization/lab-1")
        .sign();
    HttpResponse<String> created = send("POST", "/fhir/Observation", observationJson("final"), token);
    assertEquals(201, created.statusCode(), created.body());
    String id = idFrom(created);

    Provenance p = provenancesIn(client.search().byUrl("Provenance?target=Observation/" + id)
        .returnBundle(Bundle.class).execute()).get(0);

    assertEquals("Practitioner/lab-tech-1", p.getAgent().get(0).getWho().getReference());
    assertEquals("author", p.getAgent().get(0).getType().getCodingFirstRep().getCode());
    assertEquals("Organization/lab-1", p.getAgent().get(0).getOnBehalfOf().getReference());
    assertEquals("lab-results-app", p.getAgent().get(1).getWho().getIdentifier().getValue());
    assertEquals("enterer", p.getAgent().get(1).getType().getCodingFirstRep().getCode());
    assertValid(p);
  }

  @Test
  void provenanceWrittenByClient_getsNoProvenanceOfItsOwn() throws Exception {
    HttpResponse<String> obs = send("POST", "/fhir/Observation", observationJson("final"));
    String id = idFrom(obs);
    String clientProvenance = """
        {"resourceType":"Provenance","target":[{"reference":"Observation/%s"}],
         "recorded":"2026-11-25T12:00:00Z",
         "agent":[{"who":{"display":"a lab's own system"}}]}""".formatted(id);
    HttpResponse<String> created = send("POST", "/fhir/Provenance", clientProvenance);
    assertEquals(201, created.statusCode(), created.body());
    String provenanceId = idFrom(created);

    Bundle aboutIt = client.search().byUrl("Provenance?target=Provenance/" + provenanceId).returnBundle(Bundle.class)
        .execute();
    assertEquals(0, aboutIt.getEntry().size(), "Provenance writes are not given Provenance");
    Bundle aboutObservation = client.search().byUrl("Provenance?target=Observation/" + id).returnBundle(Bundle.class)
        .execute();
    assertEquals(2, aboutObservation.getEntry().size(), "the gateway's and the client's");
  }

  @Test
  void refusedWrite_getsNoProvenance() throws Exception {
    int before = provenanceTotal();
    HttpResponse<String> refused = send("PUT", "/fhir/Observation/does-not-match",
        observationJson("final").replace("{\"resourceType\":\"Observation\",", "{\"resourceType\":\"Observation\",\"id\":\"other\","));
    assertEquals(400, refused.statusCode(), refused.body());
    assertNotNull(refused.headers().firstValue("X-Ledger-Index").orElse(null), "the refusal is on the ledger");

    assertEquals(before, provenanceTotal(), "a refused write has no Provenance");
  }

  private static void assertValid(Provenance p) {
    ValidationResult result = validator.validateWithResult(p);
    List<String> errors = result.getMessages().stream()
        .filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal())
        .map(m -> m.getLocationString() + ": " + m.getMessage()).toList();
    assertEquals(List.of(), errors, "the gateway's Provenance validates against its profile");
  }

  private static int provenanceTotal() {
    return client.search().byUrl("Provenance?_summary=count").returnBundle(Bundle.class).execute().getTotal();
  }

  private static List<Provenance> provenancesIn(Bundle bundle) {
    List<Provenance> out = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (e.getResource() instanceof Provenance p) {
        out.add(p);
      }
    }
    return out;
  }

  /** The ledger receipt extension of a gateway Provenance. */
  private record Receipt(String origin, long index, byte[] leafHash) {
    static Receipt of(Provenance p) {
      Extension ext = p.getExtensionByUrl(GatewayProfiles.LEDGER_RECEIPT);
      assertNotNull(ext, "the Provenance carries a ledger receipt");
      return new Receipt(ext.getExtensionByUrl("origin").getValue().primitiveValue(),
          Long.parseLong(ext.getExtensionByUrl("index").getValue().primitiveValue()),
          Base64.getDecoder().decode(ext.getExtensionByUrl("leafHash").getValue().primitiveValue()));
    }
  }

  private static byte[] entryAt(long index, long size) throws Exception {
    return ledger.entryAt(index, size);
  }

  private static InclusionProof inclusionProof(JsonNode json) {
    List<byte[]> hashes = new ArrayList<>();
    json.get("hashes").forEach(h -> hashes.add(Base64.getDecoder().decode(h.asText())));
    return new InclusionProof(json.get("index").asLong(), json.get("treeSize").asLong(), hashes);
  }

  private static long ledgerIndex(HttpResponse<?> response) {
    return Long.parseLong(response.headers().firstValue("X-Ledger-Index").orElseThrow());
  }

  private static String idFrom(HttpResponse<?> created) {
    String location = created.headers().firstValue("Location").orElseThrow();
    String[] parts = location.split("/");
    return parts[parts.length - 3];
  }

  private static String observationJson(String status) {
    return "{\"resourceType\":\"Observation\",\"status\":\"" + status + "\","
        + "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]}}";
  }

  private static HttpResponse<String> sendPatch(String path, String jsonPatch) throws Exception {
    HttpRequest request = HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + TestIssuer.suiteToken())
        .header("Content-Type", "application/json-patch+json").header("Accept", "application/fhir+json")
        .method("PATCH", HttpRequest.BodyPublishers.ofString(jsonPatch)).build();
    return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> send(String method, String path, String json) throws Exception {
    return send(method, path, json, TestIssuer.suiteToken());
  }

  private static HttpResponse<String> send(String method, String path, String json, String token) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + token);
    if (json != null) {
      b.header("Content-Type", "application/fhir+json").header("Accept", "application/fhir+json")
          .method(method, HttpRequest.BodyPublishers.ofString(json));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static byte[] sha256(String s) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
  }
}
