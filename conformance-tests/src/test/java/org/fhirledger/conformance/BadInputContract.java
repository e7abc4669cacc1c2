package org.fhirledger.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.parser.IParser;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.Test;

/**
 * Bad input through the gateway: each answer is a 4xx with an OperationOutcome in the client's format,
 * the same status (and, for the EHR's own errors, the same diagnostics) as the EHR answers directly,
 * and nothing is written. Runs once per {@link Target}.
 */
abstract class BadInputContract extends ConformanceSupport {

  private static final String JSON = "application/fhir+json";
  private static final String XML = "application/fhir+xml";

  String base() {
    return target().gatewayBase();
  }

  /** The same request to the gateway and straight to the EHR. */
  record Both(RawHttp.Response gateway, RawHttp.Response ehr) {}

  Both send(String method, String path, String contentType, String body, String... headers) {
    byte[] bytes = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
    return new Both(
        target().gatewayHttp().send(method, base() + path, contentType, bytes, headers),
        target().ehrHttp().send(method, target().ehrBase() + path, contentType, bytes, headers));
  }

  /** Parses the body as an OperationOutcome in the format its Content-Type names. */
  static OperationOutcome operationOutcome(RawHttp.Response r) {
    String ct = r.contentType();
    IParser parser;
    if (ct.contains("xml")) {
      parser = xml();
    } else if (ct.contains("json")) {
      parser = json();
    } else {
      throw new AssertionError("no FHIR content type on a " + r.status() + ": '" + ct + "' body " + r.text());
    }
    OperationOutcome oo = parser.parseResource(OperationOutcome.class, r.text());
    assertFalse(oo.getIssue().isEmpty(), "OperationOutcome has an issue: " + r.text());
    return oo;
  }

  int countByIdentifier(String value) {
    RawHttp.Response r = target().gatewayHttp().get(
        base() + "/Patient?_summary=count&identifier=" + ID_SYSTEM + "%7C" + value);
    assertEquals(200, r.status(), r.text());
    return json().parseResource(org.hl7.fhir.r4.model.Bundle.class, r.text()).getTotal();
  }

  @Test
  void create_malformedJson_400WithOperationOutcomeLikeEhr() {
    String value = unique();
    String body = "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" + ID_SYSTEM + "\",\"value\":\"" + value + "\"}],";

    Both r = send("POST", "/Patient", JSON, body);

    assertEquals(400, r.gateway().status(), r.gateway().text());
    assertEquals(r.ehr().status(), r.gateway().status());
    assertTrue(r.gateway().contentType().contains("json"), r.gateway().contentType());
    assertEquals(operationOutcome(r.ehr()).getIssueFirstRep().getDiagnostics(),
        operationOutcome(r.gateway()).getIssueFirstRep().getDiagnostics());
    assertEquals(0, countByIdentifier(value));
  }

  @Test
  void create_malformedXml_400WithOperationOutcomeLikeEhr() {
    String value = unique();
    String body = "<Patient xmlns=\"http://hl7.org/fhir\"><identifier><system value=\"" + ID_SYSTEM
        + "\"/><value value=\"" + value + "\"/></identifier><active value=\"true\">";

    Both r = send("POST", "/Patient", XML, body, "Accept", XML);

    assertEquals(400, r.gateway().status(), r.gateway().text());
    assertEquals(r.ehr().status(), r.gateway().status());
    assertTrue(r.gateway().contentType().contains("xml"), r.gateway().contentType());
    assertEquals(operationOutcome(r.ehr()).getIssueFirstRep().getDiagnostics(),
        operationOutcome(r.gateway()).getIssueFirstRep().getDiagnostics());
    assertEquals(0, countByIdentifier(value));
  }

  @Test
  void update_malformedJson_400AndResourceUnchanged() {
    String value = unique();
    Patient p = new Patient();
    p.addIdentifier().setSystem(ID_SYSTEM).setValue(value);
    RawHttp.Response created = target().gatewayHttp().send("POST", base() + "/Patient", JSON,
        json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8));
    String id = new IdType(created.header("Location").orElseThrow()).getIdPart();

    RawHttp.Response r = target().gatewayHttp().send("PUT", base() + "/Patient/" + id, JSON,
        ("{\"resourceType\":\"Patient\",\"id\":\"" + id + "\",\"active\":tru").getBytes(StandardCharsets.UTF_8));

    assertEquals(400, r.status(), r.text());
    operationOutcome(r);
    RawHttp.Response read = target().gatewayHttp().get(base() + "/Patient/" + id);
    assertEquals("W/\"1\"", read.header("ETag").orElse(null), "still version 1");
  }

  @Test
  void read_unknownResourceType_404WithOperationOutcomeLikeEhr() {
    Both r = send("GET", "/Spaceship/1", null, null);

    assertEquals(404, r.gateway().status(), r.gateway().text());
    assertEquals(r.ehr().status(), r.gateway().status());
    operationOutcome(r.gateway());
  }

  @Test
  void create_unknownResourceType_404WithOperationOutcomeLikeEhr() {
    Both r = send("POST", "/Spaceship", JSON, "{\"resourceType\":\"Spaceship\"}");

    assertEquals(r.ehr().status(), r.gateway().status(), r.gateway().text());
    assertTrue(r.gateway().status() >= 400 && r.gateway().status() < 500, r.gateway().text());
    operationOutcome(r.gateway());
  }

  @Test
  void create_bodyOfWrongResourceType_400WithOperationOutcomeLikeEhr() {
    String body = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"wrong type\"}}";

    Both r = send("POST", "/Patient", JSON, body);

    assertEquals(400, r.gateway().status(), r.gateway().text());
    assertEquals(r.ehr().status(), r.gateway().status());
    assertEquals(operationOutcome(r.ehr()).getIssueFirstRep().getDiagnostics(),
        operationOutcome(r.gateway()).getIssueFirstRep().getDiagnostics());
  }

  @Test
  void create_invalidResourceContent_sameStatusAsEhr() {
    // Not a resource FHIR allows: an element that does not exist and a non-date birthDate.
    String value = unique();
    String body = "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" + ID_SYSTEM + "\",\"value\":\"" + value
        + "\"}],\"birthDate\":\"not-a-date\",\"spaceshipColour\":\"red\"}";

    Both r = send("POST", "/Patient", JSON, body);

    assertEquals(r.ehr().status(), r.gateway().status(), r.gateway().text());
    if (r.gateway().status() >= 400) {
      operationOutcome(r.gateway());
      assertEquals(0, countByIdentifier(value));
    }
  }

  @Test
  void update_idInUrlAndBodyDiffer_400WithOperationOutcomeLikeEhr() {
    String id = "conf-" + unique();
    String body = "{\"resourceType\":\"Patient\",\"id\":\"other-" + unique() + "\"}";

    Both r = send("PUT", "/Patient/" + id, JSON, body);

    assertEquals(400, r.gateway().status(), r.gateway().text());
    assertEquals(r.ehr().status(), r.gateway().status());
    operationOutcome(r.gateway());
  }

  @Test
  void update_staleIfMatch_412WithOperationOutcome() {
    Patient p = new Patient();
    p.addIdentifier().setSystem(ID_SYSTEM).setValue(unique());
    RawHttp.Response created = target().gatewayHttp().send("POST", base() + "/Patient", JSON,
        json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8));
    String id = new IdType(created.header("Location").orElseThrow()).getIdPart();
    p.setId(id);
    p.setActive(true);
    byte[] v2 = json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8);
    assertEquals(200, target().gatewayHttp().send("PUT", base() + "/Patient/" + id, JSON, v2).status());
    p.setActive(false);

    RawHttp.Response stale = target().gatewayHttp().send("PUT", base() + "/Patient/" + id, JSON,
        json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8), "If-Match", "W/\"1\"");
    RawHttp.Response staleAtEhr = target().ehrHttp().send("PUT", target().ehrBase() + "/Patient/" + id, JSON,
        json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8), "If-Match", "W/\"1\"");

    assertEquals(412, stale.status(), stale.text());
    operationOutcome(stale);
    assertEquals(409, staleAtEhr.status(), "HAPI JPA itself answers 409; the gateway maps it to FHIR's 412");
    RawHttp.Response read = target().gatewayHttp().get(base() + "/Patient/" + id);
    assertEquals("W/\"2\"", read.header("ETag").orElse(null), "the stale update changed nothing");
  }

  @Test
  void read_unknownId_404WithEhrsOperationOutcome() {
    String path = "/Patient/conf-missing-" + unique();

    Both r = send("GET", path, null, null);

    assertEquals(404, r.gateway().status());
    assertEquals(r.ehr().status(), r.gateway().status());
    assertEquals(normaliseBases(operationOutcome(r.ehr()).getIssueFirstRep().getDiagnostics()),
        normaliseBases(operationOutcome(r.gateway()).getIssueFirstRep().getDiagnostics()));
  }

  @Test
  void search_unknownParameter_400WithEhrsOperationOutcome() {
    Both r = send("GET", "/Patient?spaceship-colour=red", null, null);

    assertEquals(400, r.gateway().status(), r.gateway().text());
    assertEquals(r.ehr().status(), r.gateway().status());
    assertEquals(normaliseBases(operationOutcome(r.ehr()).getIssueFirstRep().getDiagnostics()),
        normaliseBases(operationOutcome(r.gateway()).getIssueFirstRep().getDiagnostics()));
  }

  @Test
  void read_errorWithFormatXml_operationOutcomeInXml() {
    RawHttp.Response r = target().gatewayHttp().get(base() + "/Patient/conf-missing-" + unique() + "?_format=xml");

    assertEquals(404, r.status());
    assertTrue(r.contentType().contains("xml"), r.contentType());
    operationOutcome(r);
  }
}
