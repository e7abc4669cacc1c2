package org.fhirledger.conformance.consent;

import static org.fhirledger.conformance.consent.ConsentGateway.COMMON_CODE;
import static org.fhirledger.conformance.consent.ConsentGateway.FHIR;
import static org.fhirledger.conformance.consent.ConsentGateway.HIV_CODE;
import static org.fhirledger.conformance.consent.ConsentGateway.LOINC;
import static org.fhirledger.conformance.consent.ConsentGateway.MARK;
import static org.fhirledger.conformance.consent.ConsentGateway.admin;
import static org.fhirledger.conformance.consent.ConsentGateway.assertOutcome;
import static org.fhirledger.conformance.consent.ConsentGateway.clinician;
import static org.fhirledger.conformance.consent.ConsentGateway.grant;
import static org.fhirledger.conformance.consent.ConsentGateway.observation;
import static org.fhirledger.conformance.consent.ConsentGateway.patient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.ledger.entry.ConsentDecision;
import org.fhirledger.ledger.entry.EntryRecord;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Consent enforced over HTTP by a real gateway (opt-in, break-glass allowed) with real tokens: a clinician's grant is
 * used, expires, is revoked through the gateway and stops applying on the very next request; break-glass is honoured
 * and flagged on the ledger and in the patient's access report; writes need the patient's consent to collect or
 * correct; and a leakage suite in which the clinician, denied patient Q's data and patient P's HIV result, tries to
 * reach them through ids, search parameters, includes, chains, {@code _has}, history, {@code $everything}, paging
 * links, batches, transactions and conditional writes. No answer holds a denied id or name; refused forms get 400 or
 * 403 with an OperationOutcome.
 */
class ConsentEnforcementTest {

  static ConsentGateway gw;
  static String run;
  static String p;
  static String q;
  static String r;
  static String s;
  static String familyQ;
  static String obsP;
  static String obsPHiv;
  static String obsQ;
  static String obsQ2;
  static String obsR;
  static String obsS;
  static String conditionQ;
  static String doc;
  static String consentP;
  static String consentR;

  @BeforeAll
  static void seed() {
    gw = new ConsentGateway("gw-consent", "gateway.consent.default-policy=opt-in",
        "gateway.consent.break-glass-allowed=true");
    run = "c" + UUID.randomUUID().toString().substring(0, 8);
    p = run + "-p";
    q = run + "-q";
    r = run + "-r";
    s = run + "-s";
    familyQ = "Qfamily" + run.substring(1);
    doc = run + "-doc";
    gw.seed(patient(p, "Pfamily"));
    gw.seed(patient(q, familyQ));
    gw.seed(patient(r, "Rfamily"));
    gw.seed(patient(s, "Sfamily"));
    Practitioner practitioner = new Practitioner();
    practitioner.setId(doc);
    practitioner.addName().setFamily("Consentdoctor");
    gw.seed(practitioner);
    obsP = seedObservation("-op", p, COMMON_CODE);
    obsPHiv = seedObservation("-ophiv", p, HIV_CODE);
    obsQ = seedObservation("-oq", q, COMMON_CODE);
    obsQ2 = seedObservation("-oq2", q, COMMON_CODE);
    obsR = seedObservation("-or", r, COMMON_CODE);
    obsS = seedObservation("-os", s, COMMON_CODE);
    Condition c = new Condition();
    c.setId(run + "-cq");
    c.setSubject(new Reference("Patient/" + q));
    c.getCode().addCoding().setSystem(LOINC).setCode(COMMON_CODE);
    c.addIdentifier().setSystem(MARK).setValue(run);
    gw.seed(c);
    conditionQ = c.getIdPart();

    Instant now = Instant.now();
    String actor = "Practitioner/" + doc;
    consentP = createConsent(grant(p, actor, now.minus(Duration.ofHours(1)), now.plus(Duration.ofHours(1)),
        "access", "collect"));
    consentR = createConsent(grant(r, actor, now.minus(Duration.ofHours(1)), now.plus(Duration.ofHours(1)), "access"));
    // Ended a second ago: the exact boundary is unit-tested in the engine; here, that an ended grant is not used.
    createConsent(grant(s, actor, now.minus(Duration.ofHours(2)), now.minusSeconds(1), "access"));
  }

  static String seedObservation(String suffix, String patient, String code) {
    Observation o = observation(run + suffix, patient, code);
    gw.seed(o);
    return o.getIdPart();
  }

  /** Creates a Consent through the gateway (as the administrator); returns its id. */
  static String createConsent(Consent consent) {
    RawHttp.Response created = gw.send(admin(), "POST", "/Consent", consent);
    assertEquals(201, created.status(), created.text());
    return FHIR.newJsonParser().parseResource(Consent.class, created.text()).getIdElement().getIdPart();
  }

  static String doctor() {
    return clinician(doc, "TREAT");
  }

  // ---- grant, use, expire, revoke ----------------------------------------------------------------------------

  @Test
  void grant_isUsed_andTheLedgerNamesTheConsentVersion() throws Exception {
    RawHttp.Response read = gw.get(doctor(), "/Observation/" + obsP);
    assertEquals(200, read.status(), read.text());
    EntryRecord entry = gw.ledgerEntry(read);
    assertEquals(ConsentDecision.PERMIT, entry.consentDecision());
    assertEquals("Consent/" + consentP + "/_history/1", entry.consentReference());
  }

  @Test
  void nestedDenyInsideAGrant_isEnforced_onReadAndSearch() throws Exception {
    RawHttp.Response read = gw.get(doctor(), "/Observation/" + obsPHiv);
    assertOutcome(read, 403);
    assertFalse(read.text().contains(obsPHiv), "the refusal names no id");
    EntryRecord refused = gw.ledgerEntry(read);
    assertEquals(ConsentDecision.DENY, refused.consentDecision());
    assertEquals("Consent/" + consentP + "/_history/1", refused.consentReference());

    RawHttp.Response search = gw.get(doctor(), "/Observation?subject=Patient/" + p);
    assertEquals(200, search.status(), search.text());
    assertTrue(search.text().contains(obsP));
    assertFalse(search.text().contains(obsPHiv));
    assertNull(FHIR.newJsonParser().parseResource(Bundle.class, search.text()).getTotalElement().getValue(),
        "no total: it would count what was withheld");
    assertEquals(ConsentDecision.PERMIT_FILTERED, gw.ledgerEntry(search).consentDecision());
  }

  @Test
  void expiredGrant_isNotUsed() {
    assertOutcome(gw.get(doctor(), "/Observation/" + obsS), 403);
  }

  @Test
  void revokedThroughTheGateway_stopsApplyingOnTheVeryNextRequest() throws Exception {
    assertEquals(200, gw.get(doctor(), "/Observation/" + obsR).status());
    RawHttp.Response current = gw.get(admin(), "/Consent/" + consentR);
    Consent consent = FHIR.newJsonParser().parseResource(Consent.class, current.text());
    consent.setStatus(Consent.ConsentState.INACTIVE);
    RawHttp.Response revoked = gw.send(admin(), "PUT", "/Consent/" + consentR, consent);
    assertEquals(200, revoked.status(), revoked.text());

    RawHttp.Response next = gw.get(doctor(), "/Observation/" + obsR);
    assertOutcome(next, 403);
    assertEquals(ConsentDecision.DENY, gw.ledgerEntry(next).consentDecision());
  }

  // ---- break-glass -------------------------------------------------------------------------------------------

  @Test
  void breakGlass_isHonoured_flaggedOnTheLedger_andInTheAccessReport() throws Exception {
    assertOutcome(gw.get(doctor(), "/Observation/" + obsQ), 403);
    RawHttp.Response emergency = gw.get(clinician(doc, "ETREAT"), "/Observation/" + obsQ);
    assertEquals(200, emergency.status(), emergency.text());
    assertEquals(ConsentDecision.BREAK_GLASS, gw.ledgerEntry(emergency).consentDecision());

    RawHttp.Response report = gw.get(admin(), "/Patient/" + q + "/$access-report");
    assertEquals(200, report.status(), report.text());
    assertTrue(report.text().contains("\"break_glass\""), "the access report flags the emergency access");
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  @Test
  void writes_needThePatientsConsentToCollectOrCorrect() throws Exception {
    Observation forP = observation(null, p, COMMON_CODE);
    forP.getIdentifierFirstRep().setValue(run + "-newp");
    assertEquals(201, gw.send(doctor(), "POST", "/Observation", forP).status(), "P granted collect");

    Observation forQ = observation(null, q, COMMON_CODE);
    forQ.getIdentifierFirstRep().setValue(run + "-newq");
    RawHttp.Response refused = gw.send(doctor(), "POST", "/Observation", forQ);
    assertOutcome(refused, 403);
    EntryRecord entry = gw.ledgerEntry(refused);
    assertEquals(ConsentDecision.DENY, entry.consentDecision(), "the refusal is on the ledger as a consent deny");
    assertNull(entry.consentReference(), "no Consent of Q: the opt-in default decided");
    assertEquals(0, gw.ehrCount("Observation?identifier=" + enc(MARK + "|" + run + "-newq")), "nothing was forwarded");

    Observation changed = observation(obsQ, q, HIV_CODE);
    assertOutcome(gw.send(doctor(), "PUT", "/Observation/" + obsQ, changed), 403);
    assertOutcome(gw.send(doctor(), "DELETE", "/Observation/" + obsQ, null), 403);
    assertEquals(1, gw.ehrCount("Observation?_id=" + obsQ + "&code=" + enc(LOINC + "|" + COMMON_CODE)), "unchanged");

    // R's grant is access only: correcting R's data is not granted.
    assertOutcome(gw.send(doctor(), "PUT", "/Observation/" + obsR, observation(obsR, r, COMMON_CODE)), 403);
  }

  @Test
  void transaction_withOneDeniedEntry_isRefusedWhole_andNothingIsStored() {
    Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
    Observation forP = observation(null, p, COMMON_CODE);
    forP.getIdentifierFirstRep().setValue(run + "-txp");
    Observation forQ = observation(null, q, COMMON_CODE);
    forQ.getIdentifierFirstRep().setValue(run + "-txq");
    tx.addEntry().setResource(forP).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    tx.addEntry().setResource(forQ).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    RawHttp.Response answer = gw.send(doctor(), "POST", "", tx);
    assertOutcome(answer, 403);
    assertEquals(0, gw.ehrCount("Observation?identifier=" + enc(MARK + "|" + run + "-txp")));
    assertEquals(0, gw.ehrCount("Observation?identifier=" + enc(MARK + "|" + run + "-txq")));
  }

  // ---- leakage -----------------------------------------------------------------------------------------------

  static Stream<Arguments> leaks() {
    String hiv = enc(LOINC + "|" + HIV_CODE);
    String common = enc(LOINC + "|" + COMMON_CODE);
    return Stream.of(
        Arguments.of("id guessing: read", "/Observation/" + obsQ, 403),
        Arguments.of("id guessing: vread", "/Observation/" + obsQ + "/_history/1", 403),
        Arguments.of("id guessing: Patient", "/Patient/" + q, 403),
        Arguments.of("id guessing: Condition", "/Condition/" + conditionQ, 403),
        Arguments.of("id guessing: HIV result", "/Observation/" + obsPHiv, 403),
        Arguments.of("search by subject", "/Observation?subject=Patient/" + q, 200),
        Arguments.of("search by _id", "/Observation?_id=" + obsQ + "," + obsPHiv, 200),
        Arguments.of("search by code", "/Observation?code=" + hiv, 200),
        Arguments.of("search by identifier", "/Patient?identifier=" + enc(MARK + "|" + q), 200),
        Arguments.of("search by name", "/Patient?family=" + familyQ, 200),
        Arguments.of("_include", "/Observation?_id=" + obsQ + "&_include=Observation:subject", 200),
        Arguments.of("_revinclude", "/Patient?_id=" + q + "," + p + "&_revinclude=Observation:subject", 200),
        Arguments.of("_include:iterate", "/Condition?code=" + common + "&_include=Condition:subject"
            + "&_revinclude:iterate=Observation:subject", 200),
        Arguments.of("chain", "/Observation?subject.family=" + familyQ, 400),
        Arguments.of("typed chain", "/Observation?subject:Patient.family=" + familyQ, 400),
        Arguments.of("chain on patient", "/Observation?patient.identifier=" + enc(MARK + "|" + q), 400),
        Arguments.of("_has", "/Patient?_has:Observation:subject:code=" + hiv, 400),
        Arguments.of("_summary=count", "/Observation?code=" + hiv + "&_summary=count", 400),
        Arguments.of("_total", "/Observation?code=" + common + "&_total=accurate", 400),
        Arguments.of("_elements", "/Observation?code=" + common + "&_elements=id", 400),
        Arguments.of("_summary=true", "/Observation?code=" + common + "&_summary=true", 400),
        Arguments.of("_contained", "/Observation?code=" + common + "&_contained=true", 400),
        Arguments.of("_list", "/Observation?_list=" + run, 400),
        Arguments.of("_filter", "/Observation?_filter=" + enc("subject eq Patient/" + q), 400),
        Arguments.of("instance history", "/Observation/" + obsQ + "/_history", 200),
        Arguments.of("HIV history", "/Observation/" + obsPHiv + "/_history", 200),
        Arguments.of("type history", "/Observation/_history?_count=500", 200),
        Arguments.of("system history", "/_history?_count=500", 200),
        Arguments.of("$everything", "/Patient/" + q + "/$everything", 200),
        Arguments.of("$meta", "/Observation/" + obsQ + "/$meta", 400));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("leaks")
  void deniedData_isNotReachable(String name, String path, int status) {
    RawHttp.Response answer = gw.get(doctor(), path);
    if (status == 200) {
      assertEquals(200, answer.status(), name + ": " + answer.text());
    } else {
      assertOutcome(answer, status);
    }
    assertNoDeniedData(name, answer.text());
  }

  @Test
  void pagingLinks_neverReturnDeniedData() {
    String url = "/Observation?code=" + enc(LOINC + "|" + COMMON_CODE) + "&_count=1";
    int pages = 0;
    boolean sawP = false;
    while (url != null && pages < 30) {
      RawHttp.Response page = gw.get(doctor(), url);
      assertEquals(200, page.status(), page.text());
      assertNoDeniedData("page " + pages, page.text());
      sawP |= page.text().contains(obsP);
      Bundle b = FHIR.newJsonParser().parseResource(Bundle.class, page.text());
      assertNull(b.getTotalElement().getValue());
      url = b.getLink(Bundle.LINK_NEXT) == null ? null : b.getLink(Bundle.LINK_NEXT).getUrl();
      pages++;
    }
    assertTrue(pages > 1, "the search was paged");
    assertTrue(sawP, "the permitted result is still found");
  }

  @Test
  void pagingLinkOfAnotherCaller_isFilteredForWhoeverReplaysIt() {
    String own = ConsentGateway.token("patient/*.rs").clientId("patient-app").patient(q).fhirUser("Patient/" + q)
        .sign();
    RawHttp.Response first = gw.get(own, "/Observation?subject=Patient/" + q + "&_count=1");
    assertEquals(200, first.status(), first.text());
    assertTrue(first.text().contains(q), "the patient sees their own data");
    Bundle.BundleLinkComponent next = FHIR.newJsonParser().parseResource(Bundle.class, first.text())
        .getLink(Bundle.LINK_NEXT);
    assertNotNull(next, "paged");
    RawHttp.Response ownNext = gw.get(own, next.getUrl());
    assertEquals(200, ownNext.status());
    assertTrue(ownNext.text().contains(obsQ) || ownNext.text().contains(obsQ2), "the link works for its owner");

    RawHttp.Response replayed = gw.get(doctor(), next.getUrl());
    assertEquals(200, replayed.status(), replayed.text());
    assertNoDeniedData("replayed paging link", replayed.text());
  }

  @Test
  void batchAndTransactionReads_areFilteredEntryByEntry() {
    for (Bundle.BundleType type : List.of(Bundle.BundleType.BATCH, Bundle.BundleType.TRANSACTION)) {
      Bundle bundle = new Bundle().setType(type);
      bundle.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation/" + obsQ);
      bundle.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Patient/" + q);
      bundle.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation?subject=Patient/" + q);
      bundle.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation/" + obsP);
      RawHttp.Response answer = gw.send(doctor(), "POST", "", bundle);
      assertEquals(200, answer.status(), answer.text());
      assertNoDeniedData(type.toCode(), answer.text());
      assertTrue(answer.text().contains(obsP), "permitted entries still answered");

      Bundle chained = new Bundle().setType(type);
      chained.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation?subject.family=" + familyQ);
      assertOutcome(gw.send(doctor(), "POST", "", chained), 400);
    }
  }

  @Test
  void conditionalWrites_wouldProbeExistence_andAreRefused() {
    Observation o = observation(null, q, COMMON_CODE);
    assertOutcome(gw.send(doctor(), "PUT", "/Observation?identifier=" + enc(MARK + "|" + obsQ), o), 400);
    assertOutcome(gw.send(doctor(), "POST", "/Observation", o, "If-None-Exist",
        "identifier=" + enc(MARK + "|" + obsQ)), 400);
    assertOutcome(gw.send(doctor(), "DELETE", "/Observation?identifier=" + enc(MARK + "|" + obsQ), null), 400);
    assertEquals(1, gw.ehrCount("Observation?_id=" + obsQ));
  }

  @Test
  void searchPostedAsForm_isCheckedLikeAGet() {
    RawHttp.Response answer = gw.http.send("POST", gw.base + "/Observation/_search",
        "application/x-www-form-urlencoded",
        ("subject=Patient/" + q).getBytes(StandardCharsets.UTF_8),
        "Accept", "application/fhir+json", "Authorization", "Bearer " + doctor());
    assertEquals(200, answer.status(), answer.text());
    assertNoDeniedData("form search", answer.text());
    RawHttp.Response chained = gw.http.send("POST", gw.base + "/Observation/_search",
        "application/x-www-form-urlencoded",
        ("subject.family=" + familyQ).getBytes(StandardCharsets.UTF_8),
        "Accept", "application/fhir+json", "Authorization", "Bearer " + doctor());
    assertOutcome(chained, 400);
  }

  /**
   * Fails if the answer holds any denied id or name. A Bundle's {@code self} link is removed first: it echoes the
   * caller's own query (which may name the id it guessed), not data.
   */
  static void assertNoDeniedData(String name, String text) {
    String body = text;
    if (text.startsWith("{\"resourceType\":\"Bundle\"")) {
      Bundle bundle = FHIR.newJsonParser().parseResource(Bundle.class, text);
      bundle.getLink().removeIf(l -> Bundle.LINK_SELF.equals(l.getRelation()));
      strip(bundle);
      body = FHIR.newJsonParser().encodeResourceToString(bundle);
    }
    for (String denied : List.of(obsQ, obsQ2, conditionQ, obsPHiv, familyQ, "Patient/" + q + "\"", "\"" + q + "\"")) {
      assertFalse(body.contains(denied), name + ": the answer holds denied data (" + denied + ")");
    }
    assertNotNull(body);
  }

  private static void strip(Bundle bundle) {
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (e.getResource() instanceof Bundle nested) {
        nested.getLink().removeIf(l -> Bundle.LINK_SELF.equals(l.getRelation()));
        strip(nested);
      }
    }
  }

  static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
