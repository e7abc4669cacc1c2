package org.fhirledger.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What the gateway answers when the EHR fails: unreachable → 503, hung → 504, each with an
 * OperationOutcome and without revealing the EHR's address; a write that timed out was sent exactly
 * once; a write refused because the EHR was down left nothing behind.
 */
class UpstreamFaultsTest {

  private static final String JSON = "application/fhir+json";
  private static final String ID_SYSTEM = ConformanceSupport.ID_SYSTEM;

  private static SilentServer silent;
  private static RunningGateway hungGateway;
  private static RawHttp hungHttp;
  private static LeakGuard hungGuard;

  @BeforeAll
  static void startGatewayBeforeHungEhr() throws IOException {
    silent = new SilentServer();
    hungGateway = RunningGateway.start(RunningGateway.newDataDir("gw-hung"),
        "gateway.upstream.base-url=" + silent.baseUrl(),
        "gateway.upstream.read-timeout=1s",
        "gateway.upstream.connect-timeout=1s",
        "gateway.upstream.max-retries=2");
    hungGuard = new LeakGuard(URI.create(silent.baseUrl()));
    hungHttp = new RawHttp(hungGuard);
  }

  @AfterAll
  static void stopHungEhr() throws IOException {
    if (hungGateway != null) {
      hungGateway.close();
    }
    if (silent != null) {
      silent.close();
    }
  }

  @AfterEach
  void noResponseLeakedTheEhrAddress() {
    if (hungGuard != null) {
      hungGuard.assertNoViolations();
    }
  }

  private static byte[] patientJson(String identifier) {
    Patient p = new Patient();
    p.addIdentifier().setSystem(ID_SYSTEM).setValue(identifier);
    p.addName().setFamily("Fault").addGiven("Fiona");
    return ConformanceSupport.json().encodeResourceToString(p).getBytes(StandardCharsets.UTF_8);
  }

  private static OperationOutcome operationOutcome(RawHttp.Response r) {
    assertTrue(r.contentType().contains("fhir+json") || r.contentType().contains("application/json"), r.contentType());
    OperationOutcome oo = ConformanceSupport.json().parseResource(OperationOutcome.class, r.text());
    assertFalse(oo.getIssue().isEmpty(), r.text());
    assertEquals(OperationOutcome.IssueSeverity.ERROR, oo.getIssueFirstRep().getSeverity(), r.text());
    return oo;
  }

  // ---------------------------------------------------------------- EHR hung: 504

  @Test
  void read_ehrNeverAnswers_504WithOperationOutcomeWithinBound() {
    long t0 = System.nanoTime();

    RawHttp.Response r = hungHttp.get(hungGateway.baseUrl() + "/Patient/conf-hung", "Accept", JSON);

    Duration took = Duration.ofNanos(System.nanoTime() - t0);
    assertEquals(504, r.status(), r.text());
    operationOutcome(r);
    assertTrue(took.compareTo(Duration.ofSeconds(15)) < 0, "answered within a bound, took " + took);
  }

  @Test
  void create_ehrNeverAnswers_504AndRequestSentExactlyOnce() {
    String probe = ConformanceSupport.unique();

    RawHttp.Response r = hungHttp.send("POST", hungGateway.baseUrl() + "/Patient", JSON, patientJson(probe),
        "Accept", JSON, "X-Conformance-Probe", probe);

    assertEquals(504, r.status(), r.text());
    operationOutcome(r);
    List<String> probes = silent.heads().stream()
        .filter(h -> h.startsWith("POST ") && h.toLowerCase().contains(probe.toLowerCase()))
        .toList();
    assertEquals(1, probes.size(), "a POST that timed out is never retried; the EHR saw: " + probes);
  }

  @Test
  void search_formEncodedPost_reachesEhrWithItsBody() {
    String probe = ConformanceSupport.unique();
    byte[] form = ("identifier=" + ID_SYSTEM + "%7C" + probe).getBytes(StandardCharsets.UTF_8);

    RawHttp.Response r = hungHttp.send("POST", hungGateway.baseUrl() + "/Patient/_search",
        "application/x-www-form-urlencoded", form, "Accept", JSON, "X-Conformance-Probe", probe);

    assertEquals(504, r.status(), r.text());
    List<String> seen = silent.heads().stream()
        .filter(h -> h.toLowerCase().contains(probe.toLowerCase()))
        .toList();
    assertEquals(1, seen.size(), "sent once: " + seen);
    String request = seen.get(0);
    String body = java.net.URLDecoder.decode(request.substring(request.indexOf("\r\n\r\n") + 4), StandardCharsets.UTF_8);
    assertEquals("identifier=" + ID_SYSTEM + "|" + probe, body,
        "the EHR must get the form body that carries the search parameters; it got: " + request);
  }

  // ---------------------------------------------------------------- EHR unreachable: 503

  @Test
  void readAndCreate_nothingListens_503WithOperationOutcome() throws IOException {
    int freePort;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      freePort = s.getLocalPort();
    }
    String ehrBase = "http://127.0.0.1:" + freePort + "/fhir";
    LeakGuard guard = new LeakGuard(URI.create(ehrBase));
    RawHttp http = new RawHttp(guard);
    try (RunningGateway gw = RunningGateway.start(RunningGateway.newDataDir("gw-nowhere"),
        "gateway.upstream.base-url=" + ehrBase, "gateway.upstream.connect-timeout=1s")) {

      RawHttp.Response read = http.get(gw.baseUrl() + "/Patient/conf-nowhere", "Accept", JSON);
      RawHttp.Response create = http.send("POST", gw.baseUrl() + "/Patient", JSON,
          patientJson(ConformanceSupport.unique()), "Accept", JSON);

      assertEquals(503, read.status(), read.text());
      operationOutcome(read);
      assertEquals(503, create.status(), create.text());
      operationOutcome(create);
    }
    guard.assertNoViolations();
  }

  @Test
  void create_ehrStopped_503WithOperationOutcomeAndNothingWritten() {
    Path ehrData = RunningGateway.newDataDir("ehr-stopped");
    SandboxEhr ehr = SandboxEhr.start(ehrData);
    int port = ehr.baseUrl().getPort();
    LeakGuard guard = new LeakGuard(ehr.baseUrl());
    RawHttp http = new RawHttp(guard);
    RawHttp direct = new RawHttp(null);
    String value = ConformanceSupport.unique();
    try (RunningGateway gw = RunningGateway.start(RunningGateway.newDataDir("gw-stopped"),
        "gateway.upstream.base-url=" + ehr.baseUrl())) {
      assertEquals(201, http.send("POST", gw.baseUrl() + "/Patient", JSON,
          patientJson(ConformanceSupport.unique()), "Accept", JSON).status(), "the EHR works before it stops");
      int before = patientCount(direct, ehr.baseUrl().toString());
      ehr.close();

      RawHttp.Response create = http.send("POST", gw.baseUrl() + "/Patient", JSON, patientJson(value), "Accept", JSON);

      assertEquals(503, create.status(), create.text());
      operationOutcome(create);
      ehr = SandboxEhr.start(ehrData, port);
      assertEquals(before, patientCount(direct, ehr.baseUrl().toString()), "nothing written while the EHR was down");
      RawHttp.Response afterRestart = http.get(gw.baseUrl() + "/Patient?_summary=count&identifier="
          + ID_SYSTEM + "%7C" + value, "Accept", JSON);
      assertEquals(200, afterRestart.status(), "the gateway reaches the restarted EHR: " + afterRestart.text());
      assertEquals(0, ConformanceSupport.json().parseResource(Bundle.class, afterRestart.text()).getTotal());
    } finally {
      ehr.close();
    }
    guard.assertNoViolations();
  }

  private static int patientCount(RawHttp http, String base) {
    RawHttp.Response r = http.get(base + "/Patient?_summary=count", "Accept", JSON);
    assertEquals(200, r.status(), r.text());
    return ConformanceSupport.json().parseResource(Bundle.class, r.text()).getTotal();
  }
}
