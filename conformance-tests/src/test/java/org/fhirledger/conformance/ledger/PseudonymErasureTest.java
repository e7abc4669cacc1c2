package org.fhirledger.conformance.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.gateway.GatewayApplication;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.PatientSecretStore;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.hl7.fhir.r4.model.Parameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * Erasure: {@code Patient/[id]/$erase-pseudonym} destroys the patient's pseudonym secret, so their existing entries
 * can no longer be linked to them, while the log (unchanged) still verifies and the erasure itself is on it. Only
 * a local caller of a deployment that enabled it may erase. (Refusal when not enabled: {@link
 * IntentReconciliationCrashTest}, whose gateway runs with the default settings.)
 */
class PseudonymErasureTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  @TempDir static Path dataDir;
  private static ConfigurableApplicationContext gateway;
  private static int port;
  private static String root;
  private static Pseudonymizer pseudonymizer;

  @BeforeAll
  static void startGateway() {
    gateway = new SpringApplicationBuilder(GatewayApplication.class)
        .properties(TestIssuer.withGatewayProperties("server.port=0", "gateway.data-dir=" + dataDir, "gateway.ledger.origin=erasure.test/ledger",
            "gateway.admin.erasure-enabled=true"))
        .run();
    port = ((WebServerApplicationContext) gateway).getWebServer().getPort();
    root = "http://127.0.0.1:" + port;
    pseudonymizer = new Pseudonymizer(gateway.getBean(PatientSecretStore.class));
  }

  @AfterAll
  static void stopGateway() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void erasePseudonym_localCallerWhenEnabled_entriesUnlinkableLogUnchangedAndErasureRecorded() throws Exception {
    String ref = createPatient("Erasable");
    HttpResponse<String> read = send(root, "GET", "/fhir/" + ref, null);
    long readIndex = ledgerIndex(read);
    LedgerOverHttp ledger = new LedgerOverHttp(HTTP, root);
    byte[] readEntryBefore = ledger.entries(ledger.verifyLog()).get((int) readIndex);
    Pseudonym pseudonym = EntryCodec.decode(readEntryBefore).patients().get(0);
    assertEquals(Optional.of(pseudonym), pseudonymizer.existingPseudonym(ref), "the entry names the patient");

    HttpResponse<String> erased = send(root, "POST", "/fhir/" + ref + "/$erase-pseudonym", null);

    assertEquals(200, erased.statusCode(), erased.body());
    Parameters answer = FHIR.newJsonParser().parseResource(Parameters.class, erased.body());
    assertTrue(((org.hl7.fhir.r4.model.BooleanType) answer.getParameter("erased").getValue()).booleanValue());
    assertEquals(Optional.empty(), pseudonymizer.existingPseudonym(ref), "the secret is gone");
    assertNotEquals(pseudonym, pseudonymizer.pseudonymFor(ref), "a fresh secret links to nothing old");

    Checkpoint checkpoint = ledger.verifyLog();
    List<byte[]> entries = ledger.entries(checkpoint);
    assertArrayEquals(readEntryBefore, entries.get((int) readIndex), "history is not rewritten");
    EntryRecord outcome = EntryCodec.decode(entries.get((int) ledgerIndex(erased)));
    assertEquals(EntryType.OUTCOME, outcome.type());
    assertEquals(Interaction.ERASURE, outcome.interaction());
    assertEquals(Outcome.SUCCESS, outcome.outcome());
    assertEquals(200, outcome.httpStatus());
    assertEquals("Patient", outcome.resourceType());
    assertNull(outcome.resourceId(), "the erasure entry does not name the patient");
    assertEquals(List.of(pseudonym), outcome.patients(), "it names the pseudonym that became unlinkable");
    EntryRecord intent = EntryCodec.decode(entries.get(Math.toIntExact(outcome.intentIndex())));
    assertEquals(EntryType.INTENT, intent.type());
    assertEquals(Interaction.ERASURE, intent.interaction());
  }

  @Test
  void erasePseudonym_throughAProxy_refusedWith403AndRecorded() throws Exception {
    String ref = createPatient("Proxied");
    send(root, "GET", "/fhir/" + ref, null);
    Optional<Pseudonym> before = pseudonymizer.existingPseudonym(ref);

    HttpResponse<String> refused = send(root, "POST", "/fhir/" + ref + "/$erase-pseudonym", null,
        "X-Forwarded-For", "203.0.113.7");

    assertRefused(refused);
    assertTrue(before.isPresent());
    assertEquals(before, pseudonymizer.existingPseudonym(ref), "nothing was erased");
  }

  @Test
  void erasePseudonym_fromANonLoopbackAddress_refusedWith403() throws Exception {
    Optional<InetAddress> external = nonLoopbackAddress();
    Assumptions.assumeTrue(external.isPresent(), "this machine has no non-loopback IPv4 address to call from");
    String ref = createPatient("Remote");
    send(root, "GET", "/fhir/" + ref, null);
    Optional<Pseudonym> before = pseudonymizer.existingPseudonym(ref);

    String remoteRoot = "http://" + external.get().getHostAddress() + ":" + port;
    HttpResponse<String> refused = send(remoteRoot, "POST", "/fhir/" + ref + "/$erase-pseudonym", null);

    assertRefused(refused);
    assertEquals(before, pseudonymizer.existingPseudonym(ref), "nothing was erased");
  }

  private static void assertRefused(HttpResponse<String> refused) throws Exception {
    assertEquals(403, refused.statusCode(), refused.body());
    assertTrue(refused.body().contains("OperationOutcome"), refused.body());
    LedgerOverHttp ledger = new LedgerOverHttp(HTTP, root);
    EntryRecord entry = EntryCodec.decode(ledger.entries(ledger.verifyLog()).get((int) ledgerIndex(refused)));
    assertEquals(Outcome.DENIED, entry.outcome(), "the refusal is on the ledger");
    assertEquals(403, entry.httpStatus());
  }

  private static Optional<InetAddress> nonLoopbackAddress() throws Exception {
    return NetworkInterface.networkInterfaces()
        .filter(i -> {
          try {
            return i.isUp() && !i.isLoopback();
          } catch (java.net.SocketException e) {
            return false;
          }
        })
        .flatMap(NetworkInterface::inetAddresses)
        .filter(a -> a instanceof Inet4Address && !a.isLoopbackAddress() && !a.isLinkLocalAddress())
        .findFirst();
  }

  private static String createPatient(String family) throws Exception {
    HttpResponse<String> created = send(root, "POST", "/fhir/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"" + family + "\",\"given\":[\"Synthetic\"]}]}");
    assertEquals(201, created.statusCode(), created.body());
    String[] parts = created.headers().firstValue("Location").orElseThrow().split("/");
    return "Patient/" + parts[5];
  }

  private static long ledgerIndex(HttpResponse<?> response) {
    String value = response.headers().firstValue("X-Ledger-Index").orElse(null);
    assertNotNull(value, "every response carries X-Ledger-Index");
    return Long.parseLong(value);
  }

  private static HttpResponse<String> send(String base, String method, String path, String json, String header,
      String headerValue) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
        .header("Authorization", "Bearer " + TestIssuer.suiteToken());
    if (json != null) {
      b.header("Content-Type", "application/fhir+json");
    }
    if (header != null) {
      b.header(header, headerValue);
    }
    b.method(method, json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static HttpResponse<String> send(String base, String method, String path, String json) throws Exception {
    return send(base, method, path, json, null, null);
  }
}
