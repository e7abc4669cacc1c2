package org.fhirledger.conformance.consent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import org.fhirledger.conformance.Environments;
import org.fhirledger.conformance.LeakGuard;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.gateway.consent.ConsentIndex;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.tiles.EntryBundles;
import org.fhirledger.ledger.verify.HttpLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Reference;

/**
 * A gateway with consent enforcement on ({@code gateway.consent.enabled=true}), its sandbox EHR and the shared test
 * issuer, for the consent black-box tests: seeds synthetic data straight into the EHR (with client-chosen ids, so a
 * test can search every answer for them), writes Consents through the gateway, and reads ledger entries over HTTP,
 * verified against the signed checkpoint.
 */
final class ConsentGateway implements AutoCloseable {

  static final FhirContext FHIR = FhirContext.forR4Cached();
  static final String LOINC = "http://loinc.org";
  static final String COMMON_CODE = "8867-4";
  static final String HIV_CODE = "75622-1";
  static final String MARK = "urn:fhir-ledger:consent-test";
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

  final RunningGateway gateway;
  final String base;
  final String root;
  final String ehr;
  final RawHttp http;

  ConsentGateway(String name, String... properties) {
    List<String> all = new ArrayList<>(List.of("gateway.consent.enabled=true", "gateway.ledger.origin=" + name
        + ".test/ledger"));
    all.addAll(List.of(properties));
    gateway = RunningGateway.start(RunningGateway.newDataDir(name), all.toArray(String[]::new));
    Environments.closeAtExit(gateway);
    base = gateway.baseUrl();
    root = base.substring(0, base.length() - "/fhir".length());
    ehr = gateway.bean(SandboxEhr.class).baseUrl().toString().replaceAll("/$", "");
    http = new RawHttp(new LeakGuard(gateway.bean(SandboxEhr.class).baseUrl()), null);
    ConsentIndex index = gateway.bean(ConsentIndex.class);
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (!index.inSync()) {
      assertTrue(System.nanoTime() < deadline, "the consent index did not get in sync");
      try {
        Thread.sleep(50); // polling the index state with a deadline, not synchronising on time
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  // ---- tokens ------------------------------------------------------------------------------------------------

  static TestIssuer.TokenBuilder token(String scope) {
    return TestIssuer.shared().token().audience(TestIssuer.SUITE_AUDIENCE).scope(scope);
  }

  /** A clinician's token: {@code fhirUser} the practitioner, the given purpose of use. */
  static String clinician(String practitioner, String purpose) {
    return token("user/*.cruds").clientId("clinic-app").fhirUser("Practitioner/" + practitioner)
        .claim("purpose_of_use", purpose).sign();
  }

  /** The administrator's token that writes Consents (SMART scopes decide who writes Consents, not Consent). */
  static String admin() {
    return TestIssuer.suiteToken();
  }

  // ---- HTTP --------------------------------------------------------------------------------------------------

  RawHttp.Response get(String token, String pathOrUrl) {
    return send(token, "GET", pathOrUrl, null);
  }

  RawHttp.Response send(String token, String method, String pathOrUrl, IBaseResource body, String... headers) {
    String url = pathOrUrl.startsWith("http") ? pathOrUrl : base + pathOrUrl;
    List<String> h = new ArrayList<>(List.of(headers));
    h.addAll(List.of("Accept", "application/fhir+json", "Authorization", "Bearer " + token));
    byte[] bytes = body == null ? null : FHIR.newJsonParser().encodeResourceToString(body).getBytes(StandardCharsets.UTF_8);
    return http.send(method, url, body == null ? null : "application/fhir+json", bytes, h.toArray(String[]::new));
  }

  /** Stores a resource with its own id straight in the EHR (seed data, not an interaction under test). */
  void seed(org.hl7.fhir.r4.model.Resource resource) {
    String path = "/" + resource.fhirType() + "/" + resource.getIdElement().getIdPart();
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehr + path))
          .PUT(HttpRequest.BodyPublishers.ofString(FHIR.newJsonParser().encodeResourceToString(resource)))
          .header("Content-Type", "application/fhir+json").build(), HttpResponse.BodyHandlers.ofString());
      assertTrue(r.statusCode() == 200 || r.statusCode() == 201, "seeding " + resource.fhirType() + ": "
          + r.statusCode());
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** How many resources the EHR itself holds for a search (checks that a refused write stored nothing). */
  int ehrCount(String typeAndQuery) {
    try {
      HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(ehr + "/" + typeAndQuery
          + (typeAndQuery.contains("?") ? "&" : "?") + "_summary=count")).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      return FHIR.newJsonParser().parseResource(org.hl7.fhir.r4.model.Bundle.class, r.body()).getTotal();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  /** The ledger entry a response names in X-Ledger-Index, read over HTTP and verified against the checkpoint. */
  EntryRecord ledgerEntry(RawHttp.Response r) throws Exception {
    long index = Long.parseLong(r.header("X-Ledger-Index").orElseThrow(() -> new AssertionError("no X-Ledger-Index")));
    EntryRecord record = ledgerEntryAt(index);
    assertEquals(r.status(), record.httpStatus(), "the entry records the status returned");
    return record;
  }

  /**
   * The OUTCOME entries of the write whose intent a response names in X-Ledger-Index (a batch or transaction: one per
   * request entry, appended together right after), in order.
   */
  List<EntryRecord> outcomesOf(RawHttp.Response r, int count) throws Exception {
    long intent = Long.parseLong(r.header("X-Ledger-Index").orElseThrow(() -> new AssertionError("no X-Ledger-Index")));
    List<EntryRecord> out = new ArrayList<>();
    for (long i = intent + 1; out.size() < count && i <= intent + 4L * count; i++) {
      EntryRecord e = ledgerEntryAt(i);
      if (e.intentIndex() != null && e.intentIndex() == intent) {
        out.add(e);
      }
    }
    assertEquals(count, out.size(), "outcome entries of intent " + intent);
    return out;
  }

  /** The ledger entry at {@code index}, read over HTTP and verified against the checkpoint. */
  EntryRecord ledgerEntryAt(long index) throws Exception {
    HttpLogSource source = new HttpLogSource(URI.create(root + "/ledger/"), HTTP, Duration.ofSeconds(30));
    NoteVerifier vkey = NoteVerifier.parse(HTTP.send(HttpRequest.newBuilder(URI.create(root + "/ledger/vkey")).build(),
        HttpResponse.BodyHandlers.ofString()).body().trim());
    long size = new LogVerifier(vkey).verifyLog(source).size();
    long tile = index / 256;
    int width = (int) Math.min(256, size - tile * 256);
    List<byte[]> entries = EntryBundles.decode(source.entryBundle(tile, width), width, "bundle " + tile);
    return EntryCodec.decode(entries.get((int) (index % 256)));
  }

  static void assertOutcome(RawHttp.Response r, int status) {
    assertEquals(status, r.status(), r.text());
    assertTrue(r.contentType().contains("fhir+json"), r.contentType());
    FHIR.newJsonParser().parseResource(OperationOutcome.class, r.text());
  }

  // ---- synthetic data ----------------------------------------------------------------------------------------

  static Patient patient(String id, String family) {
    Patient p = new Patient();
    p.setId(id);
    p.addName().setFamily(family);
    p.addIdentifier().setSystem(MARK).setValue(id);
    return p;
  }

  static Observation observation(String id, String patient, String code) {
    Observation o = new Observation();
    if (id != null) {
      o.setId(id);
    }
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.getCode().addCoding().setSystem(LOINC).setCode(code);
    o.setSubject(new Reference("Patient/" + patient));
    o.addIdentifier().setSystem(MARK).setValue(id == null ? "new" : id);
    return o;
  }

  /**
   * A {@code patient-privacy} Consent: root {@code permit} for {@code actor} for the actions within
   * {@code [start, end)}, with a nested deny of {@link #HIV_CODE} data.
   */
  static Consent grant(String patient, String actor, Instant start, Instant end, String... actions) {
    Consent c = privacy(patient);
    Consent.ProvisionComponent root = c.getProvision().setType(Consent.ConsentProvisionType.PERMIT);
    root.setPeriod(new Period().setStart(Date.from(start)).setEnd(Date.from(end)));
    root.addActor().setRole(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
        "PRCP", null))).setReference(new Reference(actor));
    for (String a : actions) {
      root.addAction(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/consentaction", a, null)));
    }
    root.addProvision().setType(Consent.ConsentProvisionType.DENY).addCode(new CodeableConcept(new Coding(LOINC,
        HIV_CODE, null)));
    return c;
  }

  /** A {@code patient-privacy} Consent that denies everyone everything (no provision, policy OPTOUT). */
  static Consent denyAll(String patient) {
    Consent c = privacy(patient);
    c.addPolicy().setUri("http://terminology.hl7.org/CodeSystem/v3-ActCode#OPTOUT");
    c.setPolicyRule(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", "OPTOUT", null)));
    return c;
  }

  private static Consent privacy(String patient) {
    Consent c = new Consent();
    c.setStatus(Consent.ConsentState.ACTIVE);
    c.setScope(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy",
        null)));
    c.addCategory(new CodeableConcept(new Coding(LOINC, "59284-0", null)));
    c.setPatient(new Reference("Patient/" + patient));
    c.setDateTime(new Date());
    c.addIdentifier(new Identifier().setSystem(MARK).setValue(patient));
    return c;
  }

  @Override
  public void close() {
    gateway.close();
  }
}
