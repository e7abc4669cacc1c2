package org.fhirledger.conformance.validation;

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
