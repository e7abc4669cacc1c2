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
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
  static String t;
  static String u;
  static String obsU;
  static String consentU;
  static String rolePractitioner;
  static String obsT;
  static String pagingCode;
  static String boundCode;
  static final List<String> PERMITTED_PAGED = new ArrayList<>();
  static final List<String> DENIED_PAGED = new ArrayList<>();
  static final int MAX_PAGE_FETCHES = 4;
  /** Which patient owns each of 16 Observations in date order: P (permitted) or Q (denied), interleaved. */
  static final String PAGING_PATTERN = "PQQPQPPQQQPQPPQP";

  @BeforeAll
  static void seed() {
    gw = new ConsentGateway("gw-consent", "gateway.consent.default-policy=opt-in",
        "gateway.consent.break-glass-allowed=true", "gateway.consent.max-page-fetches=" + MAX_PAGE_FETCHES);
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
    t = run + "-t";
    gw.seed(patient(t, "Tfamily"));
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
    obsT = seedObservation("-ot", t, COMMON_CODE);
    u = run + "-u";
    gw.seed(patient(u, "Ufamily"));
    obsU = seedObservation("-ou", u, COMMON_CODE);
    org.hl7.fhir.r4.model.Organization org = new org.hl7.fhir.r4.model.Organization();
    org.setId(run + "-org");
    org.setName("Consent test clinic");
    gw.seed(org);
    rolePractitioner = run + "-roledoc";
    Practitioner withRole = new Practitioner();
    withRole.setId(rolePractitioner);
    gw.seed(withRole);
    org.hl7.fhir.r4.model.PractitionerRole role = new org.hl7.fhir.r4.model.PractitionerRole();
    role.setId(run + "-role");
    role.setActive(true);
    role.setPractitioner(new Reference("Practitioner/" + rolePractitioner));
    role.setOrganization(new Reference("Organization/" + org.getIdPart()));
    gw.seed(role);
    pagingCode = run + "-paged";
    boundCode = run + "-bound";
    for (int i = 0; i < PAGING_PATTERN.length(); i++) {
      boolean permitted = PAGING_PATTERN.charAt(i) == 'P';
      String id = seedDated(String.format("-pg%02d", i), permitted ? p : q, pagingCode, i);
      (permitted ? PERMITTED_PAGED : DENIED_PAGED).add(id);
    }
    // Eight denied results before the two permitted ones: more than MAX_PAGE_FETCHES pages of two.
    for (int i = 0; i < 10; i++) {
      String id = seedDated(String.format("-bd%02d", i), i < 8 ? q : p, boundCode, i);
      (i < 8 ? DENIED_PAGED : PERMITTED_PAGED).add(id);
    }

    Instant now = Instant.now();
    String actor = "Practitioner/" + doc;
    consentP = createConsent(grant(p, actor, now.minus(Duration.ofHours(1)), now.plus(Duration.ofHours(1)),
        "access", "collect"));
    consentR = createConsent(grant(r, actor, now.minus(Duration.ofHours(1)), now.plus(Duration.ofHours(1)), "access"));
    // Ended a second ago: the exact boundary is unit-tested in the engine; here, that an ended grant is not used.
    createConsent(grant(s, actor, now.minus(Duration.ofHours(2)), now.minusSeconds(1), "access"));
    createConsent(grant(t, actor, now.minus(Duration.ofHours(1)), now.plus(Duration.ofHours(1)), "access", "collect",
        "correct"));
    consentU = createConsent(grant(u, "Organization/" + run + "-org", now.minus(Duration.ofHours(1)),
        now.plus(Duration.ofHours(1)), "access"));
  }

  /** An Observation of {@code patient} with a run-specific code, effective on day {@code day} (for _sort=date). */
  static String seedDated(String suffix, String patient, String code, int day) {
    Observation o = observation(run + suffix, patient, COMMON_CODE);
    o.getCode().getCodingFirstRep().setSystem(MARK).setCode(code);
    o.setEffective(new org.hl7.fhir.r4.model.DateTimeType("2020-01-" + String.format("%02d", day + 1)));
    gw.seed(o);
    return o.getIdPart();
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

  @Test
  void grantToAnOrganization_appliesToAPractitionerWithARoleThere() throws Exception {
    RawHttp.Response member = gw.get(clinician(rolePractitioner, "TREAT"), "/Observation/" + obsU);
    assertEquals(200, member.status(), member.text());
    assertEquals("Consent/" + consentU + "/_history/1", gw.ledgerEntry(member).consentReference(),
        "the token names only the Practitioner; the gateway found the role at the organization");
    assertOutcome(gw.get(doctor(), "/Observation/" + obsU), 403);
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
  void includeOfAWithheldMatch_isNotReturned_evenWhenItsOwnerIsPermitted() {
    // P is permitted, P's HIV result is not: P included on its own would show that P has a withheld HIV result.
    RawHttp.Response answer = gw.get(doctor(), "/Observation?code=" + enc(LOINC + "|" + HIV_CODE)
        + "&_include=Observation:subject");
    assertEquals(200, answer.status(), answer.text());
    assertEquals(List.of(), FHIR.newJsonParser().parseResource(Bundle.class, answer.text()).getEntry(),
        "no match, so no include");
    RawHttp.Response permitted = gw.get(doctor(), "/Observation?_id=" + obsP + "&_include=Observation:subject");
    assertTrue(permitted.text().contains("\"Patient\"") && permitted.text().contains(obsP),
        "the include of a returned match stays");
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

  // ---- page refill and the gateway's paging links --------------------------------------------------------------

  /** Follows next links from {@code first}; returns the pages' bundles in order. */
  static List<Bundle> follow(String token, String first, int maxPages) {
    List<Bundle> pages = new ArrayList<>();
    String url = first;
    while (url != null) {
      assertTrue(pages.size() < maxPages, "too many pages");
      RawHttp.Response page = gw.get(token, url);
      assertEquals(200, page.status(), page.text());
      assertNoDeniedData("page " + pages.size(), page.text());
      Bundle b = FHIR.newJsonParser().parseResource(Bundle.class, page.text());
      assertNull(b.getTotalElement().getValue(), "no total");
      pages.add(b);
      url = b.getLink(Bundle.LINK_NEXT) == null ? null : b.getLink(Bundle.LINK_NEXT).getUrl();
    }
    return pages;
  }

  static List<String> matches(Bundle page) {
    return page.getEntry().stream()
        .filter(e -> !e.hasSearch() || e.getSearch().getMode() == Bundle.SearchEntryMode.MATCH)
        .map(e -> e.getResource().getIdElement().getIdPart()).toList();
  }

  @Test
  void filteredSearch_returnsFullPagesOfCount_withoutGapsOrDuplicates() throws Exception {
    List<Bundle> pages = follow(doctor(), "/Observation?code=" + enc(MARK + "|" + pagingCode)
        + "&_sort=date&_count=3&_include=Observation:subject", 10);
    List<String> seen = new ArrayList<>();
    for (Bundle page : pages) {
      seen.addAll(matches(page));
      for (Bundle.BundleEntryComponent e : page.getEntry()) {
        if (e.hasSearch() && e.getSearch().getMode() == Bundle.SearchEntryMode.INCLUDE) {
          assertEquals("Patient/" + p, e.getResource().getIdElement().toUnqualifiedVersionless().getValue(),
              "includes are filtered too");
        }
      }
      for (Bundle.BundleLinkComponent link : page.getLink()) {
        assertTrue(Set.of(Bundle.LINK_SELF, Bundle.LINK_NEXT).contains(link.getRelation()),
            "no EHR paging link: " + link.getRelation());
      }
    }
    List<String> expected = PERMITTED_PAGED.stream().filter(id -> id.contains("-pg")).toList();
    assertEquals(List.of(3, 3, 2), pages.stream().map(b -> matches(b).size()).toList(),
        "full pages of _count permitted matches, includes not counted");
    assertEquals(expected, seen, "every permitted result once, in order, no gaps or duplicates");
    assertEquals(expected.size(), new HashSet<>(seen).size());
  }

  @Test
  void refilledPage_isOneLedgerEntry_ofWhatTheClientGot() throws Exception {
    RawHttp.Response page = gw.get(doctor(), "/Observation?code=" + enc(MARK + "|" + pagingCode) + "&_sort=date"
        + "&_count=3");
    assertEquals(200, page.status(), page.text());
    EntryRecord entry = gw.ledgerEntry(page);
    assertEquals(ConsentDecision.PERMIT_FILTERED, entry.consentDecision());
    assertTrue(java.util.Arrays.equals(java.security.MessageDigest.getInstance("SHA-256").digest(page.body()),
        entry.contentSha256()), "the digest is of the refilled page returned");
    assertEquals(1, entry.patients().size(), "only P disclosed, though Q's results were fetched and withheld");
  }

  @Test
  void fetchBound_returnsWhatWasCollected_withALinkToGoOn() {
    List<Bundle> pages = follow(doctor(), "/Observation?code=" + enc(MARK + "|" + boundCode) + "&_sort=date&_count=2",
        10);
    assertTrue(pages.size() >= 2, "the bound of " + MAX_PAGE_FETCHES + " EHR pages stopped the first page early");
    assertEquals(List.of(), matches(pages.get(0)), "eight denied results fill more than the bound");
    assertNotNull(pages.get(0).getLink(Bundle.LINK_NEXT), "and the caller can go on");
    List<String> seen = pages.stream().flatMap(b -> matches(b).stream()).toList();
    assertEquals(PERMITTED_PAGED.stream().filter(id -> id.contains("-bd")).toList(), seen);
  }

  @Test
  void pagingLink_tamperedForgedRawOrOfAnotherCaller_isRefused() {
    RawHttp.Response first = gw.get(doctor(), "/Observation?code=" + enc(MARK + "|" + pagingCode)
        + "&_sort=date&_count=3");
    String next = FHIR.newJsonParser().parseResource(Bundle.class, first.text()).getLink(Bundle.LINK_NEXT).getUrl();
    assertEquals(200, gw.get(doctor(), next).status(), "the link works for the caller it was issued to");

    String value = java.net.URLDecoder.decode(next.substring(next.indexOf("_getpages=") + 10), StandardCharsets.UTF_8);
    String payload = new String(java.util.Base64.getUrlDecoder().decode(value.substring(0, value.indexOf('.'))),
        StandardCharsets.UTF_8);
    String tag = value.substring(value.indexOf('.') + 1);
    String[] fields = payload.split("\n", 4); // version, skip, count, EHR page
    String skipChanged = String.join("\n", fields[0], Integer.toString(Integer.parseInt(fields[1]) + 1), fields[2],
        fields[3]);
    String elsewhere = payload.substring(0, payload.lastIndexOf('\n') + 1) + "/Observation?subject=Patient/" + q;
    List<String> refused = List.of(
        link(skipChanged, tag),
        link(elsewhere, tag),
        link(payload, tag.substring(1) + (tag.charAt(0) == 'A' ? "B" : "A")),
        gw.base + "?_getpages=" + enc("not-a-link"),
        gw.base + "?_getpages=" + enc(run) + "&_getpagesoffset=0&_count=3");
    for (String url : refused) {
      RawHttp.Response answer = gw.get(doctor(), url);
      assertOutcome(answer, 400);
      assertNoDeniedData("refused link", answer.text());
    }
    RawHttp.Response otherActor = gw.get(clinician(run + "-other", "TREAT"), next);
    assertOutcome(otherActor, 400);
    String own = ConsentGateway.token("patient/*.rs").clientId("patient-app").patient(p).fhirUser("Patient/" + p)
        .sign();
    assertOutcome(gw.get(own, next), 400);
  }

  private static String link(String payload, String tag) {
    return gw.base + "?_getpages=" + enc(java.util.Base64.getUrlEncoder().withoutPadding()
        .encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + "." + tag);
  }

  @Test
  void batch_forwardsPermittedEntries_andAnswersDeniedOnesInPlace() throws Exception {
    Bundle batch = new Bundle().setType(Bundle.BundleType.BATCH);
    Observation forP = observation(null, p, COMMON_CODE);
    forP.getIdentifierFirstRep().setValue(run + "-batchp");
    Observation forQ = observation(null, q, COMMON_CODE);
    forQ.getIdentifierFirstRep().setValue(run + "-batchq");
    batch.addEntry().setResource(forP).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    batch.addEntry().setResource(forQ).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Observation");
    batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation/" + obsP);
    batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation/" + obsQ);
    batch.addEntry().getRequest().setMethod(Bundle.HTTPVerb.GET).setUrl("Observation?subject.family=" + familyQ);
    RawHttp.Response answer = gw.send(doctor(), "POST", "", batch);
    assertEquals(200, answer.status(), answer.text());
    assertNoDeniedData("mixed batch", answer.text());
    Bundle response = FHIR.newJsonParser().parseResource(Bundle.class, answer.text());
    assertEquals(5, response.getEntry().size(), "one answer per entry, in the request's order");
    List<String> statuses = response.getEntry().stream().map(e -> e.getResponse().getStatus().substring(0, 3))
        .toList();
    assertEquals(List.of("201", "403", "200", "403", "400"), statuses);
    for (int i : List.of(1, 3, 4)) {
      assertTrue(response.getEntry().get(i).getResponse().getOutcome() instanceof
          org.hl7.fhir.r4.model.OperationOutcome, "a refused entry carries an OperationOutcome");
    }
    assertTrue(answer.text().contains(obsP), "the permitted read is answered");
    assertEquals(1, gw.ehrCount("Observation?identifier=" + enc(MARK + "|" + run + "-batchp")), "P's entry stored");
    assertEquals(0, gw.ehrCount("Observation?identifier=" + enc(MARK + "|" + run + "-batchq")), "Q's not forwarded");

    List<EntryRecord> entries = gw.outcomesOf(answer, 5);
    assertEquals(List.of(201, 403, 200, 403, 400), entries.stream().map(EntryRecord::httpStatus).toList(),
        "one ledger entry per batch entry, in order");
    assertEquals(ConsentDecision.DENY, entries.get(1).consentDecision(), "Q's refused create is a DENY of its own");
    assertTrue(entries.get(0).consentDecision() != ConsentDecision.DENY, "P's create is not recorded as refused");
    assertEquals("Consent/" + consentP + "/_history/1", entries.get(0).consentReference());
  }

  @Test
  void patchOrUpdate_movingDataToAPatientWhoDenied_isRefused_andTheEhrIsUnchanged() {
    String moveToQ = "[{\"op\":\"replace\",\"path\":\"/subject/reference\",\"value\":\"Patient/" + q + "\"}]";
    RawHttp.Response patch = gw.http.send("PATCH", gw.base + "/Observation/" + obsT, "application/json-patch+json",
        moveToQ.getBytes(StandardCharsets.UTF_8), "Accept", "application/fhir+json", "Authorization",
        "Bearer " + doctor());
    assertOutcome(patch, 403);
    assertOutcome(gw.send(doctor(), "PUT", "/Observation/" + obsT, observation(obsT, q, COMMON_CODE)), 403);
    assertEquals(1, gw.ehrCount("Observation?_id=" + obsT + "&subject=Patient/" + t), "still T's, unchanged");

    String unchangedOwner = "[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"amended\"}]";
    RawHttp.Response permitted = gw.http.send("PATCH", gw.base + "/Observation/" + obsT,
        "application/json-patch+json", unchangedOwner.getBytes(StandardCharsets.UTF_8), "Accept",
        "application/fhir+json", "Authorization", "Bearer " + doctor());
    assertEquals(200, permitted.status(), "T granted correct: " + permitted.text());

    String garbage = "[{\"op\":\"replace\",\"path\":\"/no/such/path\",\"value\":1}]";
    assertOutcome(gw.http.send("PATCH", gw.base + "/Observation/" + obsT, "application/json-patch+json",
        garbage.getBytes(StandardCharsets.UTF_8), "Accept", "application/fhir+json", "Authorization",
        "Bearer " + doctor()), 400);
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
      RawHttp.Response refused = gw.send(doctor(), "POST", "", chained);
      if (type == Bundle.BundleType.TRANSACTION) {
        assertOutcome(refused, 400); // all or nothing
      } else {
        assertEquals(200, refused.status(), refused.text()); // batch entries are answered one by one
        assertTrue(FHIR.newJsonParser().parseResource(Bundle.class, refused.text()).getEntryFirstRep().getResponse()
            .getStatus().startsWith("400"));
      }
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
    List<String> denieds = new ArrayList<>(List.of(obsQ, obsQ2, conditionQ, obsPHiv, familyQ, "Patient/" + q + "\"",
        "\"" + q + "\""));
    denieds.addAll(DENIED_PAGED);
    for (String denied : denieds) {
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
