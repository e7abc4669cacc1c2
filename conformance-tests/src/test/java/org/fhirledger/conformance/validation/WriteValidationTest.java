package org.fhirledger.conformance.validation;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.StructureDefinition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Validation on write, black-box over HTTP against base FHIR R4 and the gateway's own package (no shared data
 * needed): reject mode refuses with 422 naming the element and the EHR stays unchanged while the refusal is on the
 * ledger; warn mode forwards with the issues in a header; patches are validated as they would apply; a transaction
 * is refused whole; the gateway's own StructureDefinitions are served by the gateway.
 */
class WriteValidationTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final String JSON = "application/fhir+json";
  private static RunningGateway gateway;
  private static String base;
  private static String ehr;
  private static final RawHttp HTTP = new RawHttp(null, TestIssuer.suiteToken());

  @BeforeAll
  static void start() {
    gateway = RunningGateway.start(RunningGateway.newDataDir("validation"),
        "gateway.validation.modes.Observation=reject",
        "gateway.validation.modes.Consent=reject",
        "gateway.validation.modes.Patient=warn",
        "gateway.validation.default-mode=off",
        "gateway.validation.profiles.Consent=" + GatewayProfiles.GATEWAY_CONSENT);
    base = gateway.baseUrl();
    ehr = gateway.bean(SandboxEhr.class).baseUrl().toString();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void create_observationWithoutStatus_422NamesStatusNothingWrittenRefusalOnLedger() {
    String tag = UUID.randomUUID().toString();
    String body = """
        {"resourceType":"Observation","identifier":[{"system":"urn:test:validation","value":"%s"}],
         "code":{"text":"synthetic"}}""".formatted(tag);

    RawHttp.Response r = HTTP.send("POST", base + "/Observation", JSON, bytes(body));

    assertEquals(422, r.status(), r.text());
    assertTrue(expressions(r).contains("Observation.status"), r.text());
    assertEquals(0, count(ehr + "/Observation?identifier=urn:test:validation%7C" + tag));
    String index = r.header("X-Ledger-Index").orElseThrow(() -> new AssertionError("refusal not on the ledger"));
    AuditEvent event = FHIR.newJsonParser().parseResource(AuditEvent.class,
        HTTP.get(base + "/AuditEvent/" + index).text());
    assertEquals("create", event.getSubtypeFirstRep().getCode());
    assertTrue(event.getOutcome() != AuditEvent.AuditEventOutcome._0, "recorded as a failure");
  }

  @Test
  void create_validObservation_201WithoutIssues() {
    RawHttp.Response r = HTTP.send("POST", base + "/Observation", JSON, bytes(
        "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"synthetic\"}}"));

    assertEquals(201, r.status(), r.text());
    assertTrue(r.header("X-Validation-Issues").isEmpty(), () -> r.header("X-Validation-Issues").orElse(""));
  }

  @Test
  void create_unparseableObservation_400NothingForwarded() {
    RawHttp.Response r = HTTP.send("POST", base + "/Observation", JSON, bytes("{\"resourceType\":\"Observation\","));

    assertEquals(400, r.status(), r.text());
    assertTrue(r.text().contains("OperationOutcome"), r.text());
  }

  @Test
  void create_invalidPatientInWarnMode_201WithIssuesHeader() {
    RawHttp.Response r = HTTP.send("POST", base + "/Patient", JSON, bytes(
        "{\"resourceType\":\"Patient\",\"gender\":\"female\",\"contact\":[{\"gender\":\"male\"}]}"));

    assertEquals(201, r.status(), r.text());
    String issues = r.header("X-Validation-Issues").orElseThrow(() -> new AssertionError("no issues header"));
    assertTrue(issues.contains("Patient.contact[0]") && issues.contains("pat-1"), issues);
    assertTrue(issues.startsWith("1 error"), issues);
  }

  @Test
  void update_invalidObservation_422AndEhrKeepsThePreviousVersion() {
    String id = create("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"synthetic\"}}");

    RawHttp.Response r = HTTP.send("PUT", base + "/Observation/" + id, JSON, bytes("""
        {"resourceType":"Observation","id":"%s","status":"bogus","code":{"text":"synthetic"}}""".formatted(id)));

    assertEquals(422, r.status(), r.text());
    assertTrue(expressions(r).contains("Observation.status"), r.text());
    assertTrue(HTTP.get(ehr + "/Observation/" + id).text().contains("\"versionId\":\"1\""));
  }

  @Test
  void patch_jsonPatchRemovingStatus_422AndEhrUnchanged_validPatchForwarded() {
    String id = create("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"synthetic\"}}");

    RawHttp.Response refused = HTTP.send("PATCH", base + "/Observation/" + id, "application/json-patch+json",
        bytes("[{\"op\":\"remove\",\"path\":\"/status\"}]"));
    RawHttp.Response accepted = HTTP.send("PATCH", base + "/Observation/" + id, "application/json-patch+json",
        bytes("[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"amended\"}]"));

    assertEquals(422, refused.status(), refused.text());
    assertTrue(expressions(refused).contains("Observation.status"), refused.text());
    assertEquals(200, accepted.status(), accepted.text());
    String stored = HTTP.get(ehr + "/Observation/" + id).text();
    assertTrue(stored.contains("\"amended\"") && stored.contains("\"versionId\":\"2\""), stored);
  }

  @Test
  void patch_fhirPathPatchDeletingStatus_422() {
    String id = create("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"synthetic\"}}");
    String patch = """
        {"resourceType":"Parameters","parameter":[{"name":"operation","part":[
          {"name":"type","valueCode":"delete"},{"name":"path","valueString":"Observation.status"}]}]}""";

    RawHttp.Response r = HTTP.send("PATCH", base + "/Observation/" + id, JSON, bytes(patch));

    assertEquals(422, r.status(), r.text());
    assertTrue(expressions(r).contains("Observation.status"), r.text());
  }

  @Test
  void transaction_oneInvalidEntry_422NamesTheEntryAndNothingWritten() {
    String tag = UUID.randomUUID().toString();
    String entry = """
        {"fullUrl":"urn:uuid:%s","resource":{"resourceType":"Observation",
          "identifier":[{"system":"urn:test:validation","value":"%s"}],%s"code":{"text":"synthetic"}},
         "request":{"method":"POST","url":"Observation"}}""";
    String bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        + entry.formatted(UUID.randomUUID(), tag, "\"status\":\"final\",") + ","
        + entry.formatted(UUID.randomUUID(), tag, "") + "]}";

    RawHttp.Response r = HTTP.send("POST", base, JSON, bytes(bundle));

    assertEquals(422, r.status(), r.text());
    assertEquals(List.of("Bundle.entry[1].resource.status"), expressions(r), r.text());
    assertEquals(0, count(ehr + "/Observation?identifier=urn:test:validation%7C" + tag));
  }

  @Test
  void transaction_jsonPatchEntryRemovingStatus_422NamesEntryAndElementEhrUnchanged() {
    String tag = UUID.randomUUID().toString();
    String id = create(observation(tag));
    String bundle = transaction(createEntry(UUID.randomUUID().toString()),
        jsonPatchEntry("Observation/" + id, "[{\"op\":\"remove\",\"path\":\"/status\"}]"));

    RawHttp.Response r = HTTP.send("POST", base, JSON, bytes(bundle));

    assertEquals(422, r.status(), r.text());
    assertEquals(List.of("Bundle.entry[1]", "Observation.status"), expressions(r), r.text());
    assertTrue(r.header("X-Ledger-Index").isPresent(), "the refusal is on the ledger");
    String stored = HTTP.get(ehr + "/Observation/" + id).text();
    assertTrue(stored.contains("\"versionId\":\"1\"") && stored.contains("\"final\""), stored);
    assertEquals(0, count(ehr + "/Observation?identifier=urn:test:validation%7Centry-" + bundleTag), "nothing created");
  }

  @Test
  void transaction_validPatchEntries_forwardedAndApplied() {
    String tag = UUID.randomUUID().toString();
    String byId = create(observation(tag));
    String byFhirPath = create(observation(tag + "-b"));
    String fhirPathPatch = """
        {"resourceType":"Parameters","parameter":[{"name":"operation","part":[
          {"name":"type","valueCode":"replace"},{"name":"path","valueString":"Observation.status"},
          {"name":"value","valueCode":"corrected"}]}]}""";
    String bundle = transaction(
        jsonPatchEntry("Observation/" + byId, "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"amended\"}]"),
        "{\"resource\":" + fhirPathPatch + ",\"request\":{\"method\":\"PATCH\",\"url\":\"Observation/" + byFhirPath
            + "\"}}");

    RawHttp.Response r = HTTP.send("POST", base, JSON, bytes(bundle));

    assertEquals(200, r.status(), r.text());
    assertTrue(HTTP.get(ehr + "/Observation/" + byId).text().contains("\"amended\""));
    assertTrue(HTTP.get(ehr + "/Observation/" + byFhirPath).text().contains("\"corrected\""));
  }

  @Test
  void conditionalPatch_invalidResult_422AndEhrUnchanged() {
    String tag = UUID.randomUUID().toString();
    String id = create(observation(tag));

    RawHttp.Response r = HTTP.send("PATCH", base + "/Observation?identifier=urn:test:validation%7C" + tag,
        "application/json-patch+json", bytes("[{\"op\":\"remove\",\"path\":\"/status\"}]"));

    assertEquals(422, r.status(), r.text());
    assertEquals(List.of("Observation.status"), expressions(r), r.text());
    assertTrue(HTTP.get(ehr + "/Observation/" + id).text().contains("\"versionId\":\"1\""));
  }

  @Test
  void conditionalPatch_validResult_forwardedAndApplied() {
    String tag = UUID.randomUUID().toString();
    String id = create(observation(tag));

    RawHttp.Response r = HTTP.send("PATCH", base + "/Observation?identifier=urn:test:validation%7C" + tag,
        "application/json-patch+json", bytes("[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"amended\"}]"));

    assertEquals(200, r.status(), r.text());
    assertTrue(HTTP.get(ehr + "/Observation/" + id).text().contains("\"amended\""));
  }

  @Test
  void conditionalPatch_noMatch_404_severalMatches_412_withOperationOutcome() {
    String tag = UUID.randomUUID().toString();
    create(observation(tag));
    create(observation(tag));
    byte[] patch = bytes("[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"amended\"}]");

    RawHttp.Response none = HTTP.send("PATCH", base + "/Observation?identifier=urn:test:validation%7Cabsent-" + tag,
        "application/json-patch+json", patch);
    RawHttp.Response several = HTTP.send("PATCH", base + "/Observation?identifier=urn:test:validation%7C" + tag,
        "application/json-patch+json", patch);

    assertEquals(404, none.status(), none.text());
    assertTrue(none.text().contains("OperationOutcome") && none.text().contains("matches"), none.text());
    assertEquals(412, several.status(), several.text());
    assertTrue(several.text().contains("OperationOutcome") && several.text().contains("More than one"), several.text());
    assertTrue(several.header("X-Ledger-Index").isPresent(), "the refusal is on the ledger");
    assertEquals(0, count(ehr + "/Observation?identifier=urn:test:validation%7C" + tag + "&status=amended"));
  }

  @Test
  void create_warnModePreferOperationOutcome_201LocationAndTheIssuesAsOperationOutcome() throws Exception {
    RawHttp.Response r = HTTP.send("POST", base + "/Patient", JSON, bytes(INVALID_PATIENT),
        "Accept", JSON, "Prefer", "return=OperationOutcome");

    assertEquals(201, r.status(), r.text());
    String location = r.header("Location").orElseThrow(() -> new AssertionError("no Location"));
    assertTrue(r.contentType().startsWith(JSON), r.contentType());
    OperationOutcome oo = FHIR.newJsonParser().parseResource(OperationOutcome.class, r.text());
    assertTrue(oo.getIssue().stream().anyMatch(i -> i.getExpression().stream()
        .anyMatch(e -> e.getValue().startsWith("Patient.contact[0]")) && i.getDiagnostics().contains("pat-1")), r.text());
    assertTrue(r.header("X-Validation-Issues").isPresent());
    // The ledger holds the digest of the version the EHR stored, not of the OperationOutcome returned.
    String index = r.header("X-Ledger-Index").orElseThrow();
    AuditEvent event = FHIR.newJsonParser().parseResource(AuditEvent.class,
        HTTP.get(base + "/AuditEvent/" + index).text());
    byte[] recorded = event.getEntity().stream().flatMap(e -> e.getDetail().stream())
        .filter(d -> "sha256".equals(d.getType())).findFirst().orElseThrow().getValueBase64BinaryType().getValue();
    String stored = HTTP.get(location + "?_format=json").text();
    String canonical = FHIR.newJsonParser().setPrettyPrint(false)
        .encodeResourceToString(FHIR.newJsonParser().parseResource(stored));
    assertArrayEquals(java.security.MessageDigest.getInstance("SHA-256").digest(bytes(canonical)), recorded);
  }

  @Test
  void create_warnModeOtherPrefer_answerIsTheResource() {
    RawHttp.Response r = HTTP.send("POST", base + "/Patient", JSON, bytes(INVALID_PATIENT),
        "Accept", JSON, "Prefer", "return=representation");

    assertEquals(201, r.status(), r.text());
    assertTrue(r.text().contains("\"resourceType\":\"Patient\""), r.text());
    assertTrue(r.header("X-Validation-Issues").orElse("").contains("pat-1"));
  }

  @Test
  void create_consentOutsideTheEnforcedSubset_422ByConfiguredProfile() {
    String consent = """
        {"resourceType":"Consent","status":"active",
         "scope":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/consentscope","code":"research"}]},
         "category":[{"coding":[{"system":"http://loinc.org","code":"59284-0"}]}],
         "patient":{"reference":"Patient/none"},"policyRule":{"text":"opt-in"},
         "provision":{"type":"deny"}}""";

    RawHttp.Response r = HTTP.send("POST", base + "/Consent", JSON, bytes(consent));

    assertEquals(422, r.status(), r.text());
    assertTrue(expressions(r).stream().anyMatch(e -> e.startsWith("Consent.scope")), r.text());
  }

  @Test
  void read_ownStructureDefinition_servedByTheGatewayAndRecorded() {
    RawHttp.Response byId = HTTP.get(base + "/StructureDefinition/gateway-provenance");
    RawHttp.Response byUrl = HTTP.get(base + "/StructureDefinition?url=" + GatewayProfiles.LEDGER_RECEIPT);
    RawHttp.Response other = HTTP.get(base + "/StructureDefinition?url=http://example.org/none");

    assertEquals(200, byId.status(), byId.text());
    assertEquals(GatewayProfiles.GATEWAY_PROVENANCE,
        FHIR.newJsonParser().parseResource(StructureDefinition.class, byId.text()).getUrl());
    assertTrue(byId.header("X-Ledger-Index").isPresent());
    Bundle found = FHIR.newJsonParser().parseResource(Bundle.class, byUrl.text());
    assertEquals(1, found.getEntry().size());
    assertEquals(GatewayProfiles.LEDGER_RECEIPT, ((StructureDefinition) found.getEntryFirstRep().getResource()).getUrl());
    assertEquals(200, other.status(), "forwarded to the EHR, which finds nothing: " + other.text());
    assertEquals(0, FHIR.newJsonParser().parseResource(Bundle.class, other.text()).getEntry().size());
    assertFalse(other.text().contains(GatewayProfiles.BASE), other.text());
  }

  private static String observation(String tag) {
    return """
        {"resourceType":"Observation","identifier":[{"system":"urn:test:validation","value":"%s"}],
         "status":"final","code":{"text":"synthetic"}}""".formatted(tag);
  }

  private static final String bundleTag = UUID.randomUUID().toString();
  private static final String INVALID_PATIENT =
      "{\"resourceType\":\"Patient\",\"gender\":\"female\",\"contact\":[{\"gender\":\"male\"}]}";

  /** A valid create, so that a refused bundle also shows that its other entries were not written. */
  private static String createEntry(String fullUrl) {
    return """
        {"fullUrl":"urn:uuid:%s","resource":{"resourceType":"Observation",
          "identifier":[{"system":"urn:test:validation","value":"entry-%s"}],"status":"final",
          "code":{"text":"synthetic"}},"request":{"method":"POST","url":"Observation"}}""".formatted(fullUrl, bundleTag);
  }

  private static String jsonPatchEntry(String url, String patch) {
    return """
        {"resource":{"resourceType":"Binary","contentType":"application/json-patch+json","data":"%s"},
         "request":{"method":"PATCH","url":"%s"}}""".formatted(
        java.util.Base64.getEncoder().encodeToString(bytes(patch)), url);
  }

  private static String transaction(String... entries) {
    return "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[" + String.join(",", entries) + "]}";
  }

  private static String create(String body) {
    RawHttp.Response r = HTTP.send("POST", base + "/Observation", JSON, bytes(body));
    assertEquals(201, r.status(), r.text());
    return r.header("Location").orElseThrow().split("/Observation/")[1].split("/")[0];
  }

  private static int count(String searchUrl) {
    return FHIR.newJsonParser().parseResource(Bundle.class, HTTP.get(searchUrl + "&_summary=count").text()).getTotal();
  }

  static List<String> expressions(RawHttp.Response r) {
    OperationOutcome oo = FHIR.newJsonParser().parseResource(OperationOutcome.class, r.text());
    return oo.getIssue().stream()
        .filter(i -> i.getSeverity() == OperationOutcome.IssueSeverity.ERROR)
        .flatMap(i -> i.getExpression().stream()).map(e -> e.getValue()).distinct().toList();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
