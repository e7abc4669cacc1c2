package org.fhirledger.gateway.sandbox;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPInputStream;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.IdType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Exercises a real sandbox EHR over real HTTP. No fixed ports, no sleeps. */
@Timeout(value = 10, unit = TimeUnit.MINUTES) // generous: CI machines here are shared and heavily loaded
class SandboxEhrTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final String FHIR_JSON = "application/fhir+json";
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir static Path sharedDir;
  private static SandboxEhr ehr;

  @BeforeAll
  static void startShared() {
    ehr = SandboxEhr.start(sharedDir);
  }

  @AfterAll
  static void stopShared() {
    if (ehr != null) {
      ehr.close();
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  @Test
  void baseUrlIsLoopbackWithRandomPortAndNoTrailingSlash() {
    URI base = ehr.baseUrl();
    assertEquals("http", base.getScheme());
    assertEquals("127.0.0.1", base.getHost());
    assertTrue(base.getPort() > 0);
    assertEquals("/fhir", base.getPath());
    assertFalse(base.toString().endsWith("/"));
  }

  @Test
  void metadataIsAnR4CapabilityStatement() throws Exception {
    HttpResponse<String> r = send(get("/metadata").header("Accept", FHIR_JSON));
    assertEquals(200, r.statusCode());
    CapabilityStatement cs = parse(r.body(), CapabilityStatement.class);
    assertEquals("4.0.1", cs.getFhirVersion().toCode());
    assertTrue(cs.getRestFirstRep().getResource().stream().anyMatch(x -> x.getType().equals("Patient")));
    // $everything on Patient is advertised
    assertTrue(r.body().contains("everything"), "Patient $everything advertised");
  }

  @Test
  void createThenReadPatientWithEtagAndLastModified() throws Exception {
    HttpResponse<String> created = send(post("/Patient", patientJson("Create", null)));
    assertEquals(201, created.statusCode(), created.body());
    String location = created.headers().firstValue("Location").orElseThrow();
    assertTrue(location.startsWith(ehr.baseUrl() + "/Patient/"), location);
    String id = idFromLocation(location);

    HttpResponse<String> read = send(get("/Patient/" + id));
    assertEquals(200, read.statusCode());
    assertEquals("W/\"1\"", read.headers().firstValue("ETag").orElseThrow());
    assertTrue(read.headers().firstValue("Last-Modified").isPresent());
    Patient p = parse(read.body(), Patient.class);
    assertEquals("Create", p.getNameFirstRep().getFamily());

    HttpResponse<String> vread = send(get("/Patient/" + id + "/_history/1"));
    assertEquals(200, vread.statusCode());
  }

  @Test
  void conditionalCreateDoesNotDuplicate() throws Exception {
    String system = "urn:test:cond:" + UUID.randomUUID();
    String body = patientJson("Conditional", system + "|42");
    String ifNoneExist = "identifier=" + system + "|42";
    HttpResponse<String> first = send(post("/Patient", body).header("If-None-Exist", ifNoneExist));
    assertEquals(201, first.statusCode(), first.body());
    HttpResponse<String> second = send(post("/Patient", body).header("If-None-Exist", ifNoneExist));
    assertEquals(200, second.statusCode(), second.body());
    assertEquals(
        idFromLocation(first.headers().firstValue("Location").orElseThrow()),
        idFromLocation(second.headers().firstValue("Location").orElseThrow()));
    Bundle found = parse(send(get("/Patient?identifier=" + enc(system + "|42"))).body(), Bundle.class);
    assertEquals(1, found.getTotal());
  }

  @Test
  void jsonPatchAndFhirPathPatch() throws Exception {
    String id = create(patientJson("BeforePatch", null));
    String jsonPatch = "[{\"op\":\"replace\",\"path\":\"/name/0/family\",\"value\":\"AfterJsonPatch\"}]";
    HttpResponse<String> patched = send(request("/Patient/" + id)
        .header("Content-Type", "application/json-patch+json")
        .header("Prefer", "return=representation")
        .method("PATCH", HttpRequest.BodyPublishers.ofString(jsonPatch)));
    assertEquals(200, patched.statusCode(), patched.body());
    Patient p = parse(send(get("/Patient/" + id)).body(), Patient.class);
    assertEquals("AfterJsonPatch", p.getNameFirstRep().getFamily());
    assertEquals("2", p.getMeta().getVersionId());

    String fhirPathPatch = """
        {"resourceType":"Parameters","parameter":[{"name":"operation","part":[
          {"name":"type","valueCode":"replace"},
          {"name":"path","valueString":"Patient.name[0].family"},
          {"name":"value","valueString":"AfterFhirPathPatch"}]}]}""";
    HttpResponse<String> patched2 = send(request("/Patient/" + id)
        .header("Content-Type", FHIR_JSON)
        .method("PATCH", HttpRequest.BodyPublishers.ofString(fhirPathPatch)));
    assertEquals(200, patched2.statusCode(), patched2.body());
    assertEquals("AfterFhirPathPatch",
        parse(send(get("/Patient/" + id)).body(), Patient.class).getNameFirstRep().getFamily());
  }

  @Test
  void transactionBundleResolvesUrnReferences() throws Exception {
    String tx = """
        {"resourceType":"Bundle","type":"transaction","entry":[
          {"fullUrl":"urn:uuid:11111111-1111-1111-1111-111111111111",
           "resource":{"resourceType":"Patient","name":[{"family":"Tx"}]},
           "request":{"method":"POST","url":"Patient"}},
          {"fullUrl":"urn:uuid:22222222-2222-2222-2222-222222222222",
           "resource":{"resourceType":"Observation","status":"final",
             "code":{"text":"tx-test"},
             "subject":{"reference":"urn:uuid:11111111-1111-1111-1111-111111111111"}},
           "request":{"method":"POST","url":"Observation"}}]}""";
    HttpResponse<String> r = send(request("").header("Content-Type", FHIR_JSON)
        .POST(HttpRequest.BodyPublishers.ofString(tx)));
    assertEquals(200, r.statusCode(), r.body());
    Bundle resp = parse(r.body(), Bundle.class);
    assertEquals(Bundle.BundleType.TRANSACTIONRESPONSE, resp.getType());
    assertEquals(2, resp.getEntry().size());
    for (Bundle.BundleEntryComponent e : resp.getEntry()) {
      assertTrue(e.getResponse().getStatus().startsWith("201"), e.getResponse().getStatus());
    }
    String patientId = idFromLocation(resp.getEntry().get(0).getResponse().getLocation());
    String obsId = idFromLocation(resp.getEntry().get(1).getResponse().getLocation());
    String obs = send(get("/Observation/" + obsId)).body();
    assertTrue(obs.contains("\"Patient/" + patientId + "\""), obs);
  }

  @Test
  void pagingFollowsNextLinksThroughFiveResources() throws Exception {
    String system = "urn:test:paging:" + UUID.randomUUID();
    Set<String> createdIds = new HashSet<>();
    for (int i = 0; i < 5; i++) {
      createdIds.add(create(patientJson("Page" + i, system + "|" + i)));
    }
    Bundle page = parse(
        send(get("/Patient?identifier=" + enc(system + "|") + "&_count=2&_total=accurate")).body(), Bundle.class);
    assertEquals(5, page.getTotal());
    List<String> seen = new ArrayList<>();
    int pages = 0;
    while (true) {
      pages++;
      assertTrue(page.getEntry().size() <= 2, "page size");
      page.getEntry().forEach(e -> seen.add(e.getResource().getIdElement().getIdPart()));
      Bundle.BundleLinkComponent next = page.getLink(Bundle.LINK_NEXT);
      if (next == null) {
        break;
      }
      assertTrue(next.getUrl().startsWith(ehr.baseUrl().toString()), next.getUrl());
      page = parse(send(HttpRequest.newBuilder(URI.create(next.getUrl())).GET()
          .header("Accept", FHIR_JSON).timeout(Duration.ofSeconds(180))).body(), Bundle.class);
      assertNotNull(page.getLink(Bundle.LINK_PREV), "previous link on page " + (pages + 1));
    }
    assertEquals(3, pages);
    assertEquals(createdIds, new HashSet<>(seen));
    assertEquals(5, seen.size());
  }

  @Test
  void patientEverythingReturnsCompartment() throws Exception {
    String patientId = create(patientJson("Everything", null));
    String obs = "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"e\"},"
        + "\"subject\":{\"reference\":\"Patient/" + patientId + "\"}}";
    String obsId = create("/Observation", obs);
    HttpResponse<String> r = send(get("/Patient/" + patientId + "/$everything"));
    assertEquals(200, r.statusCode(), r.body());
    Bundle b = parse(r.body(), Bundle.class);
    Set<String> ids = new HashSet<>();
    b.getEntry().forEach(e -> ids.add(e.getResource().getResourceType() + "/" + e.getResource().getIdElement().getIdPart()));
    assertTrue(ids.contains("Patient/" + patientId), ids.toString());
    assertTrue(ids.contains("Observation/" + obsId), ids.toString());
  }

  @Test
  void searchByPostXmlAndGzip() throws Exception {
    String system = "urn:test:post:" + UUID.randomUUID();
    create(patientJson("PostSearch", system + "|1"));
    HttpResponse<String> r = send(request("/Patient/_search")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("identifier=" + enc(system + "|1"))));
    assertEquals(200, r.statusCode(), r.body());
    assertEquals(1, parse(r.body(), Bundle.class).getEntry().size());

    HttpResponse<String> xml = send(get("/Patient?identifier=" + enc(system + "|1")).setHeader("Accept", "application/fhir+xml"));
    assertTrue(xml.headers().firstValue("Content-Type").orElseThrow().startsWith("application/fhir+xml"));
    assertTrue(xml.body().startsWith("<Bundle"), xml.body());

    HttpResponse<byte[]> gz = HTTP.send(get("/metadata").header("Accept-Encoding", "gzip").build(),
        HttpResponse.BodyHandlers.ofByteArray());
    assertEquals("gzip", gz.headers().firstValue("Content-Encoding").orElse(""));
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(gz.body()))) {
      assertTrue(new String(in.readAllBytes(), StandardCharsets.UTF_8).contains("CapabilityStatement"));
    }
  }

  @Test
  void staleIfMatchIsRejected() throws Exception {
    String id = create(patientJson("IfMatch", null));
    String update = "{\"resourceType\":\"Patient\",\"id\":\"" + id + "\",\"name\":[{\"family\":\"V2\"}]}";
    HttpResponse<String> ok = send(request("/Patient/" + id).header("Content-Type", FHIR_JSON)
        .header("If-Match", "W/\"1\"").PUT(HttpRequest.BodyPublishers.ofString(update)));
    assertEquals(200, ok.statusCode(), ok.body());
    HttpResponse<String> stale = send(request("/Patient/" + id).header("Content-Type", FHIR_JSON)
        .header("If-Match", "W/\"1\"").PUT(HttpRequest.BodyPublishers.ofString(update)));
    // HAPI JPA answers a version conflict with 409 Conflict (not 412 Precondition Failed).
    assertEquals(409, stale.statusCode(), stale.body());
    parse(stale.body(), OperationOutcome.class);
  }

  @Test
  void conditionalUpdateSearchFeaturesHistoryMetaBatchAndConditionalDelete() throws Exception {
    String system = "urn:test:features:" + UUID.randomUUID();
    String org = "org-" + UUID.randomUUID().toString().substring(0, 8);
    HttpResponse<String> putOrg = send(request("/Organization/" + org).header("Content-Type", FHIR_JSON)
        .PUT(HttpRequest.BodyPublishers.ofString(
            "{\"resourceType\":\"Organization\",\"id\":\"" + org + "\",\"name\":\"Acme\"}")));
    assertEquals(201, putOrg.statusCode(), putOrg.body());

    // conditional update: creates when nothing matches, updates the match afterwards
    String cond = "/Patient?identifier=" + enc(system + "|A");
    String body = "{\"resourceType\":\"Patient\",\"identifier\":[{\"system\":\"" + system
        + "\",\"value\":\"A\"}],\"name\":[{\"family\":\"Zed\"}],\"birthDate\":\"1980-01-01\","
        + "\"managingOrganization\":{\"reference\":\"Organization/" + org + "\"}}";
    HttpResponse<String> c1 = send(request(cond).header("Content-Type", FHIR_JSON)
        .PUT(HttpRequest.BodyPublishers.ofString(body)));
    assertEquals(201, c1.statusCode(), c1.body());
    // (the second body must differ: HAPI turns an identical update into a no-op that keeps version 1)
    String body2 = body.replace("\"birthDate\"", "\"gender\":\"female\",\"birthDate\"");
    HttpResponse<String> c2 = send(request(cond).header("Content-Type", FHIR_JSON)
        .header("Prefer", "return=minimal").PUT(HttpRequest.BodyPublishers.ofString(body2)));
    assertEquals(200, c2.statusCode(), c2.body());
    assertTrue(c2.body().isEmpty(), "Prefer: return=minimal gives no body");
    // (HAPI sends no Location header when a PUT creates; take the id from the returned resource)
    String pid = parse(c1.body(), Patient.class).getIdElement().getIdPart();
    assertEquals("2", parse(send(get("/Patient/" + pid)).body(), Patient.class).getMeta().getVersionId());
    create(patientJson("Aaron", system + "|B"));
    String obsId = create("/Observation", "{\"resourceType\":\"Observation\",\"status\":\"final\","
        + "\"code\":{\"text\":\"f\"},\"subject\":{\"reference\":\"Patient/" + pid + "\"}}");

    // chaining
    Bundle chained = parse(send(get("/Observation?subject:Patient.identifier=" + enc(system + "|A"))).body(), Bundle.class);
    assertEquals(List.of(obsId), chained.getEntry().stream().map(e -> e.getResource().getIdElement().getIdPart()).toList());
    // _include + _revinclude
    Bundle inc = parse(send(get("/Patient?_id=" + pid + "&_include=Patient:organization&_revinclude=Observation:subject"))
        .body(), Bundle.class);
    Set<String> types = new HashSet<>();
    inc.getEntry().forEach(e -> types.add(e.getResource().fhirType()));
    assertEquals(Set.of("Patient", "Organization", "Observation"), types);
    // _sort
    Bundle sorted = parse(send(get("/Patient?identifier=" + enc(system + "|") + "&_sort=family")).body(), Bundle.class);
    assertEquals(List.of("Aaron", "Zed"), sorted.getEntry().stream()
        .map(e -> ((Patient) e.getResource()).getNameFirstRep().getFamily()).toList());
    // _summary=count and _elements
    Bundle count = parse(send(get("/Patient?identifier=" + enc(system + "|") + "&_summary=count")).body(), Bundle.class);
    assertEquals(2, count.getTotal());
    assertTrue(count.getEntry().isEmpty());
    Patient elements = parse(send(get("/Patient/" + pid + "?_elements=name")).body(), Patient.class);
    assertFalse(elements.hasBirthDate());
    assertTrue(elements.hasName());

    // history: instance, type, system
    assertEquals(2, parse(send(get("/Patient/" + pid + "/_history")).body(), Bundle.class).getEntry().size());
    assertEquals(200, send(get("/Patient/_history?_count=1")).statusCode());
    assertEquals(200, send(get("/_history?_count=1")).statusCode());
    // $meta
    HttpResponse<String> meta = send(get("/Patient/" + pid + "/$meta"));
    assertEquals(200, meta.statusCode(), meta.body());
    assertTrue(meta.body().contains("\"versionId\":\"2\""), meta.body());

    // batch: independent entries, independent outcomes
    String batch = "{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":["
        + "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/" + pid + "\"}},"
        + "{\"request\":{\"method\":\"GET\",\"url\":\"Patient/does-not-exist\"}}]}";
    Bundle batchResp = parse(send(request("").header("Content-Type", FHIR_JSON)
        .POST(HttpRequest.BodyPublishers.ofString(batch))).body(), Bundle.class);
    assertEquals(Bundle.BundleType.BATCHRESPONSE, batchResp.getType());
    assertTrue(batchResp.getEntry().get(0).getResponse().getStatus().startsWith("200"));
    assertTrue(batchResp.getEntry().get(1).getResponse().getStatus().startsWith("404"));

    // conditional delete of the observation, then the patient; a deleted resource reads as 410 Gone
    assertEquals(200, send(request("/Observation?subject=Patient/" + pid).DELETE()).statusCode());
    assertEquals(410, send(get("/Observation/" + obsId)).statusCode());
    assertEquals(200, send(request(cond).DELETE()).statusCode());
    assertEquals(410, send(get("/Patient/" + pid)).statusCode());
  }

  @Test
  void validateOperationReportsProfileErrors() throws Exception {
    HttpResponse<String> r = send(post("/Observation/$validate", "{\"resourceType\":\"Observation\",\"code\":{\"text\":\"x\"}}"));
    // Observation.status is mandatory. HAPI JPA 8.8 answers 200 OK with an OperationOutcome carrying the error
    // (not 412): callers must inspect the issues.
    assertEquals(200, r.statusCode(), r.body());
    OperationOutcome oo = parse(r.body(), OperationOutcome.class);
    assertTrue(oo.getIssue().stream().anyMatch(i -> i.getSeverity() == OperationOutcome.IssueSeverity.ERROR));
  }

  @Test
  void restartOnSameDirectoryKeepsData(@TempDir Path dir) throws Exception {
    String id;
    URI firstBase;
    try (SandboxEhr first = SandboxEhr.start(dir)) {
      firstBase = first.baseUrl();
      HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(first.baseUrl() + "/Patient"))
          .header("Content-Type", FHIR_JSON).timeout(Duration.ofSeconds(180))
          .POST(HttpRequest.BodyPublishers.ofString(patientJson("Durable", null))));
      assertEquals(201, r.statusCode(), r.body());
      id = idFromLocation(r.headers().firstValue("Location").orElseThrow());
    }
    // the port is released on close
    assertThrows(ConnectException.class, () -> new Socket().connect(
        new InetSocketAddress("127.0.0.1", firstBase.getPort()), 2000));
    try (SandboxEhr second = SandboxEhr.start(dir)) {
      HttpResponse<String> r = send(HttpRequest.newBuilder(URI.create(second.baseUrl() + "/Patient/" + id))
          .header("Accept", FHIR_JSON).timeout(Duration.ofSeconds(180)).GET());
      assertEquals(200, r.statusCode(), r.body());
      assertEquals("Durable", parse(r.body(), Patient.class).getNameFirstRep().getFamily());
    }
  }

  @Test
  void twoInstancesRunAtOnceWithSeparateData(@TempDir Path otherDir) throws Exception {
    try (SandboxEhr remote = SandboxEhr.start(otherDir)) {
      assertFalse(remote.baseUrl().equals(ehr.baseUrl()));
      String clientId = "remote-only-" + UUID.randomUUID().toString().substring(0, 8);
      String body = "{\"resourceType\":\"Patient\",\"id\":\"" + clientId + "\",\"name\":[{\"family\":\"Remote\"}]}";
      HttpResponse<String> put = send(HttpRequest.newBuilder(URI.create(remote.baseUrl() + "/Patient/" + clientId))
          .header("Content-Type", FHIR_JSON).timeout(Duration.ofSeconds(180))
          .PUT(HttpRequest.BodyPublishers.ofString(body)));
      assertEquals(201, put.statusCode(), put.body());
      assertEquals(200, send(HttpRequest.newBuilder(URI.create(remote.baseUrl() + "/Patient/" + clientId))
          .timeout(Duration.ofSeconds(180)).GET()).statusCode());
      // the shared instance does not see it
      assertEquals(404, send(get("/Patient/" + clientId)).statusCode());
    }
    // closing the second instance leaves the first one serving
    assertEquals(200, send(get("/metadata")).statusCode());
  }

  @Test
  void listensOnLoopbackOnly() throws Exception {
    InetSocketAddress bound = ehr.boundAddress();
    assertTrue(bound.getAddress().isLoopbackAddress(), bound.toString());
    assertEquals("127.0.0.1", bound.getAddress().getHostAddress());
    int port = ehr.baseUrl().getPort();
    for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!nif.isUp()) {
        continue;
      }
      for (InetAddress a : Collections.list(nif.getInetAddresses())) {
        if (a.isLoopbackAddress() || !(a instanceof Inet4Address)) {
          continue;
        }
        // A non-loopback address of this host must refuse connections on the sandbox port.
        assertThrows(IOException.class, () -> {
          try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(a, port), 2000);
          }
        }, "sandbox reachable on " + a.getHostAddress());
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------------

  private static String patientJson(String family, String identifier) {
    String idPart = "";
    if (identifier != null) {
      String[] sv = identifier.split("\\|", 2);
      idPart = ",\"identifier\":[{\"system\":\"" + sv[0] + "\",\"value\":\"" + sv[1] + "\"}]";
    }
    return "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + family + "\"}]" + idPart + "}";
  }

  private static String create(String patientJson) throws Exception {
    return create("/Patient", patientJson);
  }

  private static String create(String path, String json) throws Exception {
    HttpResponse<String> r = send(post(path, json));
    assertEquals(201, r.statusCode(), r.body());
    return idFromLocation(r.headers().firstValue("Location").orElseThrow());
  }

  /** {@code .../Patient/123/_history/1} -> {@code 123}. */
  private static String idFromLocation(String location) {
    return new IdType(location).getIdPart();
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }

  private static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(ehr.baseUrl() + path)).timeout(Duration.ofSeconds(180));
  }

  private static HttpRequest.Builder get(String path) {
    return request(path).header("Accept", FHIR_JSON).GET();
  }

  private static HttpRequest.Builder post(String path, String json) {
    return request(path).header("Content-Type", FHIR_JSON).header("Accept", FHIR_JSON)
        .POST(HttpRequest.BodyPublishers.ofString(json));
  }

  private static HttpResponse<String> send(HttpRequest.Builder b) throws IOException, InterruptedException {
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static <T extends IBaseResource> T parse(String body, Class<T> type) {
    IParser p = body.trim().startsWith("<") ? FHIR.newXmlParser() : FHIR.newJsonParser();
    return p.parseResource(type, body);
  }
}
