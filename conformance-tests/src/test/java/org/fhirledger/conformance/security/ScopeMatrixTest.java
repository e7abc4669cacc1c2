package org.fhirledger.conformance.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Outcome;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.Resource;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SMART scopes against a real gateway and its sandbox EHR, with real tokens: v1 and v2 scopes,
 * granular scopes, and a patient-context token trying to reach another patient's data through ids,
 * search parameters, chains, {@code _include}, {@code _revinclude}, compartments, history, paging
 * links, batches and transactions. Every such attempt is refused (403) or filtered (the other
 * patient's data is not in the answer).
 */
class ScopeMatrixTest {

  static final String CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category";
  static final String LAB = CATEGORY + "|laboratory";
  static final String MARK = "urn:fhir-ledger:smart-test";

  static SecuredGateway gw;
  static String run;
  static String patientA;
  static String patientB;
  static String familyB;
  static String obsALab;
  static String obsAVital;
  static String obsBLab;
  static String obsAPerformedByB;
  static String conditionA;
  static String conditionB;
  static String practitioner;
  static String binary;

  @BeforeAll
  static void seed() {
    gw = SecuredGateway.get();
    run = UUID.randomUUID().toString();
    String admin = gw.token("system/*.cruds").sign();
    familyB = "Otherpatient" + run.substring(0, 8).replace("-", "");
    patientA = create(admin, patient("Smartpatient"));
    patientB = create(admin, patient(familyB));
    obsALab = create(admin, observation(patientA, "laboratory"));
    obsAVital = create(admin, observation(patientA, "vital-signs"));
    obsBLab = create(admin, observation(patientB, "laboratory"));
    Observation mixed = observation(patientA, "laboratory");
    mixed.addPerformer(new Reference("Patient/" + patientB));
    obsAPerformedByB = create(admin, mixed);
    conditionA = create(admin, condition(patientA));
    conditionB = create(admin, condition(patientB));
    Practitioner pr = new Practitioner();
    pr.addName().setFamily("Smartdoctor");
    practitioner = create(admin, pr);
    org.hl7.fhir.r4.model.Binary bin = new org.hl7.fhir.r4.model.Binary();
    bin.setContentType("text/plain").setData("synthetic document".getBytes(java.nio.charset.StandardCharsets.UTF_8));
    bin.setSecurityContext(new Reference("Patient/" + patientB));
    binary = create(admin, bin);
  }

  // ---- tokens ------------------------------------------------------------------------------

  static String patientToken(String scope) {
    return gw.token(scope).patient(patientA).clientId("patient-app").sign();
  }

  static String userToken(String scope) {
    return gw.token(scope).clientId("clinician-app").fhirUser("Practitioner/" + practitioner)
        .claim("purpose_of_use", "TREAT").sign();
  }

  static String systemToken(String scope) {
    return gw.token(scope).clientId("lab-system").sign();
  }

  // ---- the matrix --------------------------------------------------------------------------

  record Case(String name, Supplier<String> token, String method, Supplier<String> path,
      Supplier<IBaseResource> body, int status, Consumer<RawHttp.Response> check) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Case get(String name, Supplier<String> token, Supplier<String> path, int status,
      Consumer<RawHttp.Response> check) {
    return new Case(name, token, "GET", path, null, status, check);
  }

  static Case write(String name, Supplier<String> token, String method, Supplier<String> path,
      Supplier<IBaseResource> body, int status) {
    return new Case(name, token, method, path, body, status, r -> { });
  }

  static Stream<Arguments> matrix() {
    Supplier<String> pV2 = () -> patientToken("patient/*.rs");
    Supplier<String> pV1 = () -> patientToken("patient/*.read");
    Supplier<String> pWrite = () -> patientToken("patient/*.cruds");
    Supplier<String> pV1Write = () -> patientToken("patient/*.read patient/*.write");
    Supplier<String> pLab = () -> patientToken("patient/Observation.rs?category=" + LAB);
    Supplier<String> pObsOnly = () -> patientToken("patient/Observation.rs");
    Supplier<String> uRead = () -> userToken("user/*.rs");
    Supplier<String> uV1 = () -> userToken("user/*.*");
    Supplier<String> uLab = () -> userToken("user/Observation.rs?category=" + LAB);
    Supplier<String> sWrite = () -> systemToken("system/*.write");
    Supplier<String> sRead = () -> systemToken("system/*.read");
    Supplier<String> noPatientClaim = () -> gw.token("patient/*.rs").sign();
    Consumer<RawHttp.Response> none = r -> { };
    List<Case> cases = new ArrayList<>(List.of(
        // reads by id: the patient's own data, and id guessing
        get("patient v2: own Patient", pV2, () -> "/Patient/" + patientA, 200, none),
        get("patient v2: other Patient by id", pV2, () -> "/Patient/" + patientB, 403, none),
        get("patient v2: own Observation", pV2, () -> "/Observation/" + obsALab, 200, none),
        get("patient v2: other patient's Observation by id", pV2, () -> "/Observation/" + obsBLab, 403, none),
        get("patient v2: other patient's Condition vread", pV2, () -> "/Condition/" + conditionB + "/_history/1", 403, none),
        get("patient v2: non-patient data (Practitioner) readable", pV2, () -> "/Practitioner/" + practitioner, 200, none),
        // searches: narrowed to the compartment whatever the parameters say
        get("patient v2: search Observation, only own", pV2, () -> "/Observation?identifier=" + MARK + "%7C" + run, 200,
            r -> assertOnlyPatientA(r, 3)),
        get("patient v2: search by other subject", pV2, () -> "/Observation?subject=Patient/" + patientB, 200,
            r -> assertOnlyPatientA(r, 0)),
        get("patient v2: search by other patient param", pV2, () -> "/Observation?patient=" + patientB, 200,
            r -> assertOnlyPatientA(r, 0)),
        get("patient v2: search Patient, only self", pV2, () -> "/Patient?_id=" + patientA, 200,
            r -> assertEquals(List.of("Patient/" + patientA), ids(r, Patient.class))),
        get("patient v2: search Patient by other id", pV2, () -> "/Patient?_id=" + patientB, 403, none),
        get("patient v2: search Patient without parameters, only self", pV2, () -> "/Patient", 200,
            r -> assertEquals(List.of("Patient/" + patientA), ids(r, Patient.class))),
        get("patient v2: chain subject.name of other patient", pV2, () -> "/Observation?subject.name=" + familyB, 200,
            r -> assertOnlyPatientA(r, 0)),
        get("patient v2: _include performer drags in other patient: filtered", pV2,
            () -> "/Observation?_id=" + obsAPerformedByB + "&_include=Observation:performer", 200, r -> {
              assertOnlyPatientA(r, 0);
              assertTrue(hasWithheldNote(r), "the answer says resources were withheld");
            }),
        get("patient v2: _include subject", pV2,
            () -> "/Observation?identifier=" + MARK + "%7C" + run + "&_include=Observation:subject", 200,
            r -> assertOnlyPatientA(r, 3)),
        get("patient v2: _revinclude on own Patient", pV2,
            () -> "/Patient?_id=" + patientA + "&_revinclude=Observation:subject", 200, r -> assertOnlyPatientA(r, 3)),
        get("patient v2: _revinclude on other Patient", pV2,
            () -> "/Patient?identifier=x&_revinclude=Observation:subject&_revinclude=Condition:subject", 200,
            r -> assertOnlyPatientA(r, 0)),
        get("patient v2: _revinclude of everything", pV2, () -> "/Patient?_revinclude=*", 200,
            r -> assertOnlyPatientA(r, 3)),
        get("patient v2: _has reverse chain", pV2, () -> "/Patient?_has:Observation:subject:category=laboratory", 200,
            r -> assertOnlyPatientA(r, 0)),
        get("patient v2: other patient's compartment", pV2, () -> "/Patient/" + patientB + "/Observation", 403, none),
        // Authorized and forwarded; the sandbox EHR (HAPI JPA) itself does not serve compartment searches.
        get("patient v2: own compartment allowed through", pV2, () -> "/Patient/" + patientA + "/Condition", 400,
            r -> assertTrue(r.text().contains("does not know how to handle"), r::text)),
        get("patient v2: search across types", pV2, () -> "/?_type=Observation", 403, none),
        get("patient v2: type history", pV2, () -> "/Observation/_history", 403, none),
        get("patient v2: other patient's instance history: filtered", pV2, () -> "/Observation/" + obsBLab + "/_history",
            200, r -> assertOnlyPatientA(r, 0)),
        get("patient v2: operation on other patient", pV2, () -> "/Patient/" + patientB + "/$everything", 403, none),
        get("patient v2: operation on own record, answer checked", pV2, () -> "/Patient/" + patientA + "/$everything",
            200, r -> assertOnlyPatientA(r, 3)),
        get("patient v2: Binary (patient data outside compartments)", pV2, () -> "/Binary/" + binary, 403, none),
        get("user v2: Binary readable", () -> userToken("user/*.rs"), () -> "/Binary/" + binary, 200, none),
        get("patient scope without patient claim", noPatientClaim, () -> "/Patient/" + patientA, 403, none),
        // SMART v1
        get("patient v1 read: own Observation", pV1, () -> "/Observation/" + obsAVital, 200, none),
        get("patient v1 read: other Observation", pV1, () -> "/Observation/" + obsBLab, 403, none),
        write("patient v1 read: create refused", pV1, "POST", () -> "/Observation",
            () -> observation(patientA, "laboratory"), 403),
        write("patient v1 write: create own", pV1Write, "POST", () -> "/Observation",
            () -> observation(patientA, "laboratory"), 201),
        // writes with a patient in context
        write("patient v2 cruds: create own", pWrite, "POST", () -> "/Observation",
            () -> observation(patientA, "vital-signs"), 201),
        write("patient v2 cruds: create for other patient", pWrite, "POST", () -> "/Observation",
            () -> observation(patientB, "vital-signs"), 403),
        write("patient v2 cruds: hijack other Observation by update", pWrite, "PUT", () -> "/Observation/" + obsBLab,
            () -> observation(patientA, "laboratory").setId(obsBLab), 403),
        write("patient v2 cruds: delete other Observation", pWrite, "DELETE", () -> "/Observation/" + obsBLab, null, 403),
        write("patient v2 cruds: conditional delete", pWrite, "DELETE", () -> "/Observation?subject=Patient/" + patientB,
            null, 403),
        write("patient v2 cruds: create a Patient", pWrite, "POST", () -> "/Patient", () -> patient("Newpatient"), 403),
        write("patient v2 cruds: patch", pWrite, "PATCH", () -> "/Patient/" + patientA, null, 403),
        write("patient v2 rs: transaction refused", pV2, "POST", () -> "/", () -> bundle(Bundle.BundleType.TRANSACTION,
            observation(patientA, "laboratory")), 403),
        write("patient v2 cruds: batch with a read entry", pWrite, "POST", () -> "/", () -> {
          Bundle b = bundle(Bundle.BundleType.BATCH);
          b.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation?patient=" + patientB);
          return b;
        }, 403),
        write("patient v2 cruds: batch of own writes", pWrite, "POST", () -> "/",
            () -> bundle(Bundle.BundleType.BATCH, observation(patientA, "laboratory")), 200),
        // granular scopes
        get("patient granular lab: search returns own lab only", pLab, () -> "/Observation?identifier=" + MARK + "%7C" + run,
            200, r -> {
              assertOnlyPatientA(r, 2);
              assertTrue(ids(r, Observation.class).stream().noneMatch(id -> id.endsWith("/" + obsAVital)));
            }),
        get("patient granular lab: vital signs read refused", pLab, () -> "/Observation/" + obsAVital, 403, none),
        get("patient granular lab: lab read allowed", pLab, () -> "/Observation/" + obsALab, 200, none),
        get("patient granular lab: Condition not granted", pLab, () -> "/Condition/" + conditionA, 403, none),
        get("user granular lab: search returns labs of all patients", uLab,
            () -> "/Observation?identifier=" + MARK + "%7C" + run, 200, r -> {
              List<String> got = ids(r, Observation.class);
              assertTrue(got.stream().anyMatch(id -> id.endsWith("/" + obsBLab)), got::toString);
              assertTrue(got.stream().noneMatch(id -> id.endsWith("/" + obsAVital)), got::toString);
            }),
        get("user granular lab: vital signs read refused", uLab, () -> "/Observation/" + obsAVital, 403, none),
        get("patient Observation-only: _include of Patient filtered", pObsOnly,
            () -> "/Observation?_id=" + obsALab + "&_include=Observation:subject", 200,
            r -> assertEquals(List.of(), ids(r, Patient.class))),
        // user and system scopes
        get("user v2 rs: any patient readable", uRead, () -> "/Patient/" + patientB, 200, none),
        write("user v2 rs: create refused", uRead, "POST", () -> "/Observation",
            () -> observation(patientB, "laboratory"), 403),
        write("user v1 *.*: create allowed", uV1, "POST", () -> "/Condition", () -> condition(patientB), 201),
        get("system v1 write: read refused", sWrite, () -> "/Observation/" + obsALab, 403, none),
        write("system v1 write: create allowed", sWrite, "POST", () -> "/Observation",
            () -> observation(patientB, "laboratory"), 201),
        get("system v1 read: read allowed", sRead, () -> "/Observation/" + obsBLab, 200, none),
        get("system v1 read: audit trail", sRead, () -> "/AuditEvent?_count=1", 200, none),
        get("patient v2: audit trail refused", pV2, () -> "/AuditEvent?_count=1", 403, none)));
    return cases.stream().map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("matrix")
  void scope_interaction_refusedOrFiltered(Case c) {
    RawHttp.Response r = gw.send(c.token().get(), c.method(), c.path().get(), c.body() == null ? null : c.body().get());

    assertEquals(c.status(), r.status(), () -> c.name() + ": " + r.text());
    assertTrue(r.header("X-Ledger-Index").isPresent(), "every answer, refusals included, is on the ledger");
    if (r.status() == 403) {
      assertTrue(r.text().contains("OperationOutcome"), r::text);
    }
    c.check().accept(r);
  }

  @Test
  void transaction_withOneEntryForOtherPatient_refusedWholeAndNothingWritten() {
    String marker = UUID.randomUUID().toString();
    Observation own = observation(patientA, "laboratory");
    Observation other = observation(patientB, "laboratory");
    own.addIdentifier().setSystem(MARK + ":tx").setValue(marker);
    other.addIdentifier().setSystem(MARK + ":tx").setValue(marker);

    RawHttp.Response r = gw.send(patientToken("patient/*.cruds"), "POST", "/",
        bundle(Bundle.BundleType.TRANSACTION, own, other));

    assertEquals(403, r.status(), r::text);
    assertTrue(r.text().contains("entry 2"), r::text);
    Bundle stored = gw.parse(gw.get(systemToken("system/*.rs"), "/Observation?identifier=" + MARK + ":tx%7C" + marker),
        Bundle.class);
    assertEquals(0, stored.getEntry().size(), "nothing of the transaction was forwarded");
  }

  @Test
  void postedSearch_formBodyNamingOtherPatient_narrowedToOwnCompartment() {
    byte[] form = ("subject=Patient/" + patientB + "&identifier=" + MARK + "%7C" + run)
        .getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] own = ("identifier=" + MARK + "%7C" + run).getBytes(java.nio.charset.StandardCharsets.UTF_8);

    RawHttp.Response other = gw.http.send("POST", gw.base + "/Observation/_search",
        "application/x-www-form-urlencoded", form, "Authorization", "Bearer " + patientToken("patient/*.rs"),
        "Accept", "application/fhir+json");
    RawHttp.Response mine = gw.http.send("POST", gw.base + "/Observation/_search",
        "application/x-www-form-urlencoded", own, "Authorization", "Bearer " + patientToken("patient/*.rs"),
        "Accept", "application/fhir+json");

    assertOnlyPatientA(other, 0);
    assertEquals(0, ids(other, Observation.class).size());
    assertOnlyPatientA(mine, 3);
  }

  @Test
  void pagingLinks_everyPageChecked_evenALinkFromAnotherCallersSearch() {
    String token = patientToken("patient/*.rs");
    // The patient's own paging: every page stays in the compartment.
    RawHttp.Response first = gw.get(token, "/Observation?_count=1&identifier=" + MARK + "%7C" + run);
    assertOnlyPatientA(first, 1);
    Bundle page = gw.parse(first, Bundle.class);
    int pages = 1;
    while (page.getLink(Bundle.LINK_NEXT) != null) {
      RawHttp.Response next = gw.get(token, page.getLink(Bundle.LINK_NEXT).getUrl());
      assertOnlyPatientA(next, 0);
      page = gw.parse(next, Bundle.class);
      pages++;
    }
    assertTrue(pages >= 3, "the patient's three observations came one per page");

    // A paging link of an unrestricted search (another caller's), replayed with the patient's token.
    RawHttp.Response all = gw.get(systemToken("system/*.rs"), "/Observation?_count=1&identifier=" + MARK + "%7C" + run);
    String next = gw.parse(all, Bundle.class).getLink(Bundle.LINK_NEXT).getUrl();
    String nextNext = gw.parse(gw.get(systemToken("system/*.rs"), next), Bundle.class)
        .getLink(Bundle.LINK_NEXT).getUrl();
    for (String link : List.of(next, nextNext)) {
      RawHttp.Response replayed = gw.get(token, link);
      assertEquals(200, replayed.status());
      assertOnlyPatientA(replayed, 0);
    }
  }

  @Test
  void refusal_ledgerEntryNamesCallerAndPatientInContext() throws Exception {
    RawHttp.Response refused = gw.get(patientToken("patient/*.rs"), "/Observation/" + obsBLab);
    RawHttp.Response allowed = gw.get(userToken("user/*.rs"), "/Observation/" + obsBLab);

    EntryRecord denied = gw.ledgerEntry(refused);
    assertEquals(403, refused.status());
    assertEquals(Outcome.DENIED, denied.outcome());
    assertEquals("patient-app", denied.actor().clientId());
    assertNull(denied.actor().user());
    assertNotNull(denied.contextPatient(), "the patient in context is on the entry, as a pseudonym");
    assertTrue(denied.patients().isEmpty(), "a refused read disclosed nobody");
    assertFalse(new String(gw.ledgerEntryBytes(refused), java.nio.charset.StandardCharsets.ISO_8859_1)
        .contains("Patient/" + patientA), "the patient's id is not on the ledger");

    EntryRecord read = gw.ledgerEntry(allowed);
    assertEquals("clinician-app", read.actor().clientId());
    assertEquals("Practitioner/" + practitioner, read.actor().user());
    assertEquals("TREAT", read.purposeOfUse());
    assertNull(read.contextPatient());
    assertEquals(1, read.patients().size());
  }

  // ---- helpers ---------------------------------------------------------------------------

  /** Every resource in the answer is patient A's: A itself, or a resource that names A (its compartment). */
  static void assertOnlyPatientA(RawHttp.Response r, int minimumObservations) {
    assertEquals(200, r.status(), r::text);
    Bundle bundle = gw.parse(r, Bundle.class);
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      Resource res = e.getResource();
      String text = SecuredGateway.FHIR.newJsonParser().encodeResourceToString(res);
      if (res instanceof OperationOutcome || res instanceof Practitioner) {
        continue;
      }
      if (res instanceof Patient p) {
        assertEquals(patientA, p.getIdElement().getIdPart(), () -> "another patient leaked: " + text);
      } else {
        assertTrue(text.contains("\"Patient/" + patientA + "\""), () -> "a resource outside A's compartment: " + text);
      }
    }
    assertTrue(ids(r, Observation.class).size() >= minimumObservations,
        () -> "expected at least " + minimumObservations + " observations: " + r.text());
  }

  static boolean hasWithheldNote(RawHttp.Response r) {
    return gw.parse(r, Bundle.class).getEntry().stream()
        .anyMatch(e -> e.getResource() instanceof OperationOutcome oo
            && oo.getIssueFirstRep().getDiagnostics().contains("withheld"));
  }

  static List<String> ids(RawHttp.Response r, Class<? extends Resource> type) {
    List<String> out = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : gw.parse(r, Bundle.class).getEntry()) {
      if (type.isInstance(e.getResource())) {
        out.add(e.getResource().getIdElement().toUnqualifiedVersionless().getValue());
      }
    }
    return out;
  }

  static String create(String token, Resource resource) {
    RawHttp.Response r = gw.send(token, "POST", "/" + resource.fhirType(), resource);
    assertEquals(201, r.status(), r::text);
    return gw.parse(r, resource.getClass()).getIdElement().getIdPart();
  }

  static Patient patient(String family) {
    Patient p = new Patient();
    p.addName().setFamily(family).addGiven("Synthetic");
    return p;
  }

  static Observation observation(String patientId, String category) {
    Observation o = new Observation();
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.addCategory(new CodeableConcept().addCoding(new org.hl7.fhir.r4.model.Coding(CATEGORY, category, null)));
    o.getCode().setText("synthetic " + category);
    o.setSubject(new Reference("Patient/" + patientId));
    o.addIdentifier().setSystem(MARK).setValue(run);
    return o;
  }

  static Condition condition(String patientId) {
    Condition c = new Condition();
    c.setSubject(new Reference("Patient/" + patientId));
    c.getCode().setText("synthetic condition");
    return c;
  }

  static Bundle bundle(Bundle.BundleType type, Resource... creates) {
    Bundle b = new Bundle().setType(type);
    for (Resource r : creates) {
      b.addEntry().setFullUrl("urn:uuid:" + UUID.randomUUID()).setResource(r).getRequest()
          .setMethod(Bundle.HTTPVerb.POST).setUrl(r.fhirType());
    }
    return b;
  }

}
