package org.fhirledger.gateway.consent;

import static org.fhirledger.gateway.consent.ConsentDecision.Outcome.DENY;
import static org.fhirledger.gateway.consent.ConsentDecision.Outcome.FILTER;
import static org.fhirledger.gateway.consent.ConsentDecision.Outcome.PERMIT;
import static org.fhirledger.gateway.consent.ConsentFixtures.ACT_CODE;
import static org.fhirledger.gateway.consent.ConsentFixtures.FHIR;
import static org.fhirledger.gateway.consent.ConsentFixtures.LOINC;
import static org.fhirledger.gateway.consent.ConsentFixtures.SNOMED;
import static org.fhirledger.gateway.consent.ConsentFixtures.consent;
import static org.fhirledger.gateway.consent.ConsentFixtures.deny;
import static org.fhirledger.gateway.consent.ConsentFixtures.permit;
import static org.fhirledger.gateway.consent.ConsentFixtures.untyped;
import static org.hl7.fhir.r4.model.Consent.ConsentState.ACTIVE;
import static org.hl7.fhir.r4.model.Consent.ConsentState.ENTEREDINERROR;
import static org.hl7.fhir.r4.model.Consent.ConsentState.INACTIVE;
import static org.hl7.fhir.r4.model.Consent.ConsentState.PROPOSED;
import static org.hl7.fhir.r4.model.Consent.ConsentState.REJECTED;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Clock;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.fhirledger.gateway.consent.ConsentFixtures.P;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One row per decision case: Consents, deployment policy, request, clock and resource in; outcome, whether the
 * resource passes, the break-glass flag and the Consent versions the decision rested on out. Real HAPI R4 model
 * objects and a real FhirContext; the index is loaded in memory.
 */
class ConsentDecisionTableTest {

  static final Instant NOW = Instant.parse("2026-03-15T12:00:00Z");
  static final String CONF = Rule.CONFIDENTIALITY;
  static final String TYPES = Rule.RESOURCE_TYPES;

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void decide_case_expectedDecision(String name, Case c) {
    ConsentIndex index = new ConsentIndex(FHIR, null, 100);
    index.load(c.consents);
    ConsentService service = new IndexedConsentService(index, c.policy, Clock.fixed(c.now, ZoneOffset.UTC), FHIR);

    ConsentDecision d = service.decide(c.request);

    assertEquals(c.outcome, d.outcome(), "outcome; reason: " + d.reason());
    assertEquals(c.allows, d.allows(c.resource), "resource allowed; reason: " + d.reason());
    assertEquals(c.breakGlass, d.breakGlass(), "break-glass flag");
    assertEquals(c.basis, d.basis().stream().map(ConsentVersion::reference).toList(), "basis");
  }

  static Stream<Arguments> cases() {
    List<Case> rows = new ArrayList<>();
    // --- deployment default -------------------------------------------------------------------------
    rows.add(row("default: opt-in without Consent denies").expect(DENY));
    rows.add(row("default: opt-out without Consent permits").optOut().expect(PERMIT));
    rows.add(row("default: the patient reads their own record under opt-in").actors("Patient/p1").expect(PERMIT));
    // --- actor ---------------------------------------------------------------------------------------
    rows.add(row("actor: Practitioner granted").consents(c1(permit().actor("Practitioner/dr1")))
        .expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: other Practitioner not granted").consents(c1(permit().actor("Practitioner/dr1")))
        .actors("Practitioner/dr2").expect(DENY));
    rows.add(row("actor: PractitionerRole granted").consents(c1(permit().actor("PractitionerRole/role1")))
        .actors("Practitioner/dr2", "PractitionerRole/role1").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: Organization granted").consents(c1(permit().actor("Organization/org1")))
        .actors("Practitioner/dr2", "Organization/org1").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: RelatedPerson granted").consents(c1(permit().actor("RelatedPerson/rp1")))
        .actors("RelatedPerson/rp1").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: another Patient (a parent) granted").consents(c1(permit().actor("Patient/p2")))
        .actors("Patient/p2").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: client application granted by client id").consents(c1(permit().client("app-1")))
        .actors().expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: other client application not granted").consents(c1(permit().client("app-1")))
        .client("app-2").actors().expect(DENY));
    rows.add(row("actor: Organization denied under opt-out").optOut()
        .consents(c1(deny().actor("Organization/org1"))).actors("Practitioner/dr1", "Organization/org1")
        .expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("actor: permit to a Group cannot be resolved, so does not apply")
        .consents(c1(permit().actor("Group/g1"))).expect(DENY));
    rows.add(row("actor: deny to a CareTeam cannot be resolved, so applies to all").optOut()
        .consents(c1(deny().actor("CareTeam/t1"))).expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("actor: Organization permit, the user's affiliations could not be looked up, does not apply")
        .consents(c1(permit().actor("Organization/org1"))).actors("Practitioner/dr2").affiliationsUnknown()
        .expect(DENY));
    rows.add(row("actor: PractitionerRole deny, the user's affiliations could not be looked up, applies").optOut()
        .consents(c1(deny().actor("PractitionerRole/role1"))).affiliationsUnknown()
        .expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("actor: Organization deny, looked up and not a member, does not apply").optOut()
        .consents(c1(deny().actor("Organization/org1"))).actors("Practitioner/dr1", "Organization/org2")
        .expect(PERMIT));
    rows.add(row("actor: Practitioner permit is unaffected by a failed affiliation look-up")
        .consents(c1(permit().actor("Practitioner/dr1"))).affiliationsUnknown()
        .expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("actor: Organization named by the token itself matches despite a failed look-up")
        .consents(c1(permit().actor("Organization/org1"))).actors("Practitioner/dr1", "Organization/org1")
        .affiliationsUnknown().expect(PERMIT, "Consent/c1/_history/1"));
    // --- action --------------------------------------------------------------------------------------
    rows.add(row("action: access granted, access requested").consents(c1(permit().action("access")))
        .expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("action: access granted, collect (create) requested").consents(c1(permit().action("access")))
        .action(ConsentAction.COLLECT).expect(DENY));
    rows.add(row("action: collect denied to an Organization, create refused").optOut()
        .consents(c1(deny().actor("Organization/org1").action("collect")))
        .actors("Organization/org1").action(ConsentAction.COLLECT).expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("action: collect denied to an Organization, read still permitted").optOut()
        .consents(c1(deny().actor("Organization/org1").action("collect")))
        .actors("Organization/org1").expect(PERMIT));
    rows.add(row("action: correct granted, update requested").consents(c1(permit().action("correct")))
        .action(ConsentAction.forInteraction("update")).expect(PERMIT, "Consent/c1/_history/1"));
    // --- purpose of use ------------------------------------------------------------------------------
    rows.add(row("purpose: TREAT granted, TREAT requested").consents(c1(permit().purpose("TREAT")))
        .expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("purpose: TREAT granted, HPAYMT requested").consents(c1(permit().purpose("TREAT")))
        .purposes("HPAYMT").expect(DENY));
    rows.add(row("purpose: HOPERAT granted, HOPERAT requested").consents(c1(permit().purpose("HOPERAT")))
        .purposes("HOPERAT").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("purpose: TREAT granted, no purpose given").consents(c1(permit().purpose("TREAT")))
        .purposes().expect(DENY));
    rows.add(row("purpose: PUBHLTH denied under opt-out").optOut().consents(c1(deny().purpose("PUBHLTH")))
        .purposes("PUBHLTH").expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("purpose: ETREAT counts as TREAT when break-glass is off").consents(c1(permit().purpose("TREAT")))
        .purposes("ETREAT").expect(PERMIT, "Consent/c1/_history/1"));
    // --- period (exact bounds) -----------------------------------------------------------------------
    P window = permit().actor("Practitioner/dr1").period("2026-03-01T00:00:00Z", "2026-03-15T12:00:00Z");
    rows.add(row("period: at its start the grant applies").consents(c1(window))
        .now("2026-03-01T00:00:00Z").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("period: 1 ms before its start the grant does not apply").consents(c1(window))
        .now("2026-02-28T23:59:59.999Z").expect(DENY));
    rows.add(row("period: 1 ms before its end the grant applies").consents(c1(window))
        .now("2026-03-15T11:59:59.999Z").expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("period: at its end the grant no longer applies").consents(c1(window))
        .now("2026-03-15T12:00:00Z").expect(DENY));
    P dateOnly = permit().period("2026-03-01", "2026-03-15");
    rows.add(row("period: a date-only end covers that whole day").consents(c1(dateOnly))
        .now(local(2026, 3, 15, 23, 59, 59, 999)).expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("period: a date-only end stops at the next midnight").consents(c1(dateOnly))
        .now(local(2026, 3, 16, 0, 0, 0, 0)).expect(DENY));
    // --- data period ---------------------------------------------------------------------------------
    P data2020 = permit().dataPeriod("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z");
    rows.add(row("dataPeriod: Observation effective inside is allowed").consents(c1(data2020))
        .resource(obs(LOINC, "8867-4", "2020-06-01T10:00:00Z")).expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("dataPeriod: Observation effective after is filtered").consents(c1(data2020))
        .resource(obs(LOINC, "8867-4", "2021-03-01T10:00:00Z")).expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("dataPeriod: Observation without a date is not covered by a permit").consents(c1(data2020))
        .resource(obs(LOINC, "8867-4", null)).expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("dataPeriod: Observation without a date is covered by a deny").optOut()
        .consents(c1(deny().dataPeriod("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z")))
        .resource(obs(LOINC, "8867-4", null)).expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("dataPeriod: Encounter overlapping a denied period is filtered").optOut()
        .consents(c1(deny().dataPeriod("2020-01-01T00:00:00Z", "2021-01-01T00:00:00Z")))
        .resource(encounter("2019-12-01T00:00:00Z", "2020-02-01T00:00:00Z"))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("dataPeriod: Encounter only partly inside a permitted period is filtered").consents(c1(data2020))
        .resource(encounter("2020-12-20T00:00:00Z", "2021-01-05T00:00:00Z"))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("dataPeriod: Condition by its recordedDate").consents(c1(data2020))
        .resource(condition(SNOMED, "44054006", "2020-05-05")).expect(FILTER, true, "Consent/c1/_history/1"));
    // --- class ---------------------------------------------------------------------------------------
    rows.add(row("class: resource type granted, Observation allowed").consents(c1(permit().clazz(TYPES, "Observation")))
        .expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("class: resource type granted, Condition filtered").consents(c1(permit().clazz(TYPES, "Observation")))
        .resource(condition(SNOMED, "44054006", "2020-05-05")).expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("class: core StructureDefinition canonical names the type")
        .consents(c1(permit().clazz(null, "http://hl7.org/fhir/StructureDefinition/Condition")))
        .resource(condition(SNOMED, "44054006", "2020-05-05")).expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("class: profile canonical matches meta.profile")
        .consents(c1(permit().clazz(null, "https://example.org/StructureDefinition/lab|1.0")))
        .resource(profiled(obs(LOINC, "8867-4", "2025-01-10T08:00:00Z"), "https://example.org/StructureDefinition/lab"))
        .expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("class: deny with a class from an unknown system covers everything").optOut()
        .consents(c1(deny().clazz("urn:example:classes", "lab")))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    // --- code ----------------------------------------------------------------------------------------
    P denyHivTest = deny().code(LOINC, "75622-1");
    rows.add(row("code: denied LOINC code is filtered").optOut().consents(c1(denyHivTest))
        .resource(obs(LOINC, "75622-1", "2025-01-10T08:00:00Z")).expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("code: another LOINC code passes the same deny").optOut().consents(c1(denyHivTest))
        .expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("code: matches any coding of category too").optOut()
        .consents(c1(deny().code("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("code: Condition code granted").consents(c1(permit().code(SNOMED, "44054006")))
        .resource(condition(SNOMED, "44054006", "2020-05-05")).expect(FILTER, true, "Consent/c1/_history/1"));
    // --- security labels -----------------------------------------------------------------------------
    rows.add(row("label: permit R is a clearance for N data").consents(c1(permit().label(CONF, "R")))
        .resource(labelled(obs(LOINC, "8867-4", "2025-01-10T08:00:00Z"), CONF, "N"))
        .expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("label: permit N does not reach R data").consents(c1(permit().label(CONF, "N")))
        .resource(labelled(obs(LOINC, "8867-4", "2025-01-10T08:00:00Z"), CONF, "R"))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("label: permit N covers unlabelled (normal) data").consents(c1(permit().label(CONF, "N")))
        .expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("label: deny sensitivity HIV filters HIV-labelled data").optOut()
        .consents(c1(deny().label(ACT_CODE, "HIV")))
        .resource(labelled(obs(LOINC, "8867-4", "2025-01-10T08:00:00Z"), ACT_CODE, "HIV"))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("label: deny sensitivity HIV passes other data").optOut()
        .consents(c1(deny().label(ACT_CODE, "HIV"))).expect(FILTER, true, "Consent/c1/_history/1"));
    // --- nesting -------------------------------------------------------------------------------------
    P threeLevels = permit().actor("Organization/org1").nest(
        deny().clazz(TYPES, "Observation").nest(permit().code(LOINC, "8867-4")));
    rows.add(row("nesting: permit > deny Observation > permit code: code allowed").consents(c1(threeLevels))
        .actors("Organization/org1").expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("nesting: permit > deny Observation > permit code: other code filtered").consents(c1(threeLevels))
        .actors("Organization/org1").resource(obs(LOINC, "2339-0", "2025-01-10T08:00:00Z"))
        .expect(FILTER, false, "Consent/c1/_history/1"));
    rows.add(row("nesting: permit > deny Observation > permit code: Condition allowed").consents(c1(threeLevels))
        .actors("Organization/org1").resource(condition(SNOMED, "44054006", "2020-05-05"))
        .expect(FILTER, true, "Consent/c1/_history/1"));
    rows.add(row("nesting: permit > deny Observation > permit code: other actor, Consent silent")
        .consents(c1(threeLevels)).actors("Organization/org2").expect(DENY));
    rows.add(row("nesting: deny all > permit one Practitioner: granted one")
        .optOut().consents(c1(deny().nest(permit().actor("Practitioner/dr1")))).expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("nesting: deny all > permit one Practitioner: others denied even under opt-out")
        .optOut().consents(c1(deny().nest(permit().actor("Practitioner/dr1")))).actors("Practitioner/dr2")
        .expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("nesting: an untyped nested provision is the opposite of its parent")
        .consents(c1(permit().nest(untyped().actor("Practitioner/dr2")))).actors("Practitioner/dr2")
        .expect(DENY, "Consent/c1/_history/1"));
    // --- status and scope ----------------------------------------------------------------------------
    rows.add(row("status: inactive (revoked) grant does not apply")
        .consents(consent("c1", "2", "Patient/p1", INACTIVE, permit().actor("Practitioner/dr1"))).expect(DENY));
    rows.add(row("status: entered-in-error deny does not apply").optOut()
        .consents(consent("c1", "1", "Patient/p1", ENTEREDINERROR, deny())).expect(PERMIT));
    rows.add(row("status: rejected grant does not apply")
        .consents(consent("c1", "1", "Patient/p1", REJECTED, permit())).expect(DENY));
    rows.add(row("status: proposed grant does not apply")
        .consents(consent("c1", "1", "Patient/p1", PROPOSED, permit())).expect(DENY));
    rows.add(row("scope: a research Consent is not a privacy Consent")
        .consents(research(consent("c1", "1", "Patient/p1", ACTIVE, permit()))).expect(DENY));
    rows.add(row("scope: another patient's Consent does not apply")
        .consents(consent("c1", "1", "Patient/p2", ACTIVE, permit())).expect(DENY));
    rows.add(row("policyRule: no root type, OPTIN permits")
        .consents(policyRule(consent("c1", "1", "Patient/p1", ACTIVE, null), "OPTIN"))
        .expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("policyRule: no root type, OPTOUT denies").optOut()
        .consents(policyRule(consent("c1", "1", "Patient/p1", ACTIVE, null), "OPTOUT"))
        .expect(DENY, "Consent/c1/_history/1"));
    // --- break-glass ---------------------------------------------------------------------------------
    rows.add(row("break-glass: allowed, ETREAT overrides a deny and is flagged").breakGlass()
        .consents(c1(deny())).purposes("ETREAT").expect(PERMIT, true, "Consent/c1/_history/1"));
    rows.add(row("break-glass: not allowed, ETREAT is denied").consents(c1(deny())).purposes("ETREAT")
        .expect(DENY, "Consent/c1/_history/1"));
    rows.add(row("break-glass: allowed, flagged even without a Consent").breakGlass().optOut().purposes("ETREAT")
        .expect(PERMIT, true));
    rows.add(row("break-glass: allowed but TREAT asked, the deny holds").breakGlass().consents(c1(deny()))
        .expect(DENY, "Consent/c1/_history/1"));
    // --- several Consents ----------------------------------------------------------------------------
    rows.add(row("multiple: a deny beats a permit for the same data")
        .consents(c1(permit().actor("Practitioner/dr1")), consent("c2", "3", "Patient/p1", ACTIVE, deny()))
        .expect(DENY, "Consent/c2/_history/3"));
    rows.add(row("multiple: a deny for someone else leaves the permit")
        .consents(c1(permit().actor("Practitioner/dr1")),
            consent("c2", "1", "Patient/p1", ACTIVE, deny().actor("Practitioner/dr2")))
        .expect(PERMIT, "Consent/c1/_history/1"));
    rows.add(row("multiple: permit Observation and deny one code, the code is filtered")
        .consents(c1(permit().clazz(TYPES, "Observation")),
            consent("c2", "1", "Patient/p1", ACTIVE, deny().code(LOINC, "8867-4")))
        .expect(FILTER, false, "Consent/c1/_history/1", "Consent/c2/_history/1"));
    rows.add(row("multiple: permit Observation and deny one code, other codes pass")
        .consents(c1(permit().clazz(TYPES, "Observation")),
            consent("c2", "1", "Patient/p1", ACTIVE, deny().code(LOINC, "8867-4")))
        .resource(obs(LOINC, "2339-0", "2025-01-10T08:00:00Z"))
        .expect(FILTER, true, "Consent/c1/_history/1", "Consent/c2/_history/1"));
    rows.add(row("multiple: two grants are both named")
        .consents(c1(permit().actor("Practitioner/dr1")),
            consent("c2", "1", "Patient/p1", ACTIVE, permit().purpose("TREAT")))
        .expect(PERMIT, "Consent/c1/_history/1", "Consent/c2/_history/1"));
    rows.add(row("multiple: opt-out, a class grant does not hide other types")
        .optOut().consents(c1(permit().clazz(TYPES, "Observation")))
        .resource(condition(SNOMED, "44054006", "2020-05-05")).expect(FILTER, true, "Consent/c1/_history/1"));
    return rows.stream().map(r -> Arguments.of(r.name, r));
  }

  // -------------------------------------------------------------------------------------------------------

  static Consent c1(P root) {
    return consent("c1", "1", "Patient/p1", ACTIVE, root);
  }

  static Consent research(Consent c) {
    c.setScope(new CodeableConcept(new Coding(CompiledConsent.SCOPE_SYSTEM, "research", null)));
    return c;
  }

  static Consent policyRule(Consent c, String code) {
    c.setPolicyRule(new CodeableConcept(new Coding(CompiledConsent.ACT_CODE, code, null)));
    return c;
  }

  static Instant local(int y, int mo, int d, int h, int mi, int s, int ms) {
    return LocalDate.of(y, mo, d).atTime(h, mi, s, ms * 1_000_000).atZone(ZoneId.systemDefault()).toInstant();
  }

  static Observation obs(String system, String code, String effective) {
    Observation o = new Observation();
    o.setId("Observation/o1");
    o.setStatus(Observation.ObservationStatus.FINAL);
    o.setSubject(new Reference("Patient/p1"));
    o.setCode(new CodeableConcept(new Coding(system, code, null)));
    o.addCategory(new CodeableConcept(
        new Coding("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory", null)));
    if (effective != null) {
      o.setEffective(new DateTimeType(effective));
    }
    return o;
  }

  static Condition condition(String system, String code, String recorded) {
    Condition c = new Condition();
    c.setId("Condition/k1");
    c.setSubject(new Reference("Patient/p1"));
    c.setCode(new CodeableConcept(new Coding(system, code, null)));
    c.setRecordedDateElement(new DateTimeType(recorded));
    return c;
  }

  static Encounter encounter(String start, String end) {
    Encounter e = new Encounter();
    e.setId("Encounter/e1");
    e.setSubject(new Reference("Patient/p1"));
    e.setPeriod(new Period().setStartElement(new DateTimeType(start)).setEndElement(new DateTimeType(end)));
    return e;
  }

  static <T extends org.hl7.fhir.r4.model.Resource> T labelled(T r, String system, String code) {
    r.getMeta().addSecurity(system, code, null);
    return r;
  }

  static <T extends org.hl7.fhir.r4.model.Resource> T profiled(T r, String profile) {
    r.getMeta().addProfile(profile);
    return r;
  }

  static Case row(String name) {
    return new Case(name);
  }

  /** One row; defaults: opt-in, no break-glass, Practitioner/dr1 via app-1 reads Patient/p1's Observation for TREAT. */
  static final class Case {
    final String name;
    List<Consent> consents = List.of();
    ConsentPolicy policy = new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_IN, false);
    String client = "app-1";
    Set<String> actors = Set.of("Practitioner/dr1");
    ConsentAction action = ConsentAction.ACCESS;
    Set<String> purposes = Set.of("TREAT");
    boolean affiliationsUnknown;
    Instant now = NOW;
    IBaseResource resource = obs(LOINC, "8867-4", "2025-01-10T08:00:00Z");
    ConsentRequest request;
    ConsentDecision.Outcome outcome;
    boolean allows;
    boolean breakGlass;
    List<String> basis;

    Case(String name) {
      this.name = name;
    }

    Case optOut() {
      policy = new ConsentPolicy(ConsentPolicy.DefaultPolicy.OPT_OUT, policy.breakGlassAllowed());
      return this;
    }

    Case breakGlass() {
      policy = new ConsentPolicy(policy.defaultPolicy(), true);
      return this;
    }

    Case consents(Consent... c) {
      consents = List.of(c);
      return this;
    }

    Case client(String id) {
      client = id;
      return this;
    }

    Case actors(String... refs) {
      actors = new HashSet<>(Arrays.asList(refs));
      return this;
    }

    Case affiliationsUnknown() {
      affiliationsUnknown = true;
      return this;
    }

    Case action(ConsentAction a) {
      action = a;
      return this;
    }

    Case purposes(String... codes) {
      purposes = Set.of(codes);
      return this;
    }

    Case now(String instant) {
      now = Instant.parse(instant);
      return this;
    }

    Case now(Instant instant) {
      now = instant;
      return this;
    }

    Case resource(IBaseResource r) {
      resource = r;
      return this;
    }

    Case expect(ConsentDecision.Outcome o, String... basisRefs) {
      if (o == FILTER) {
        throw new IllegalArgumentException("say whether the filter lets the resource through");
      }
      return expect(o, o == PERMIT, false, basisRefs);
    }

    Case expect(ConsentDecision.Outcome o, boolean resourceAllowed, String... basisRefs) {
      if (o == FILTER) {
        return expect(o, resourceAllowed, false, basisRefs);
      }
      return expect(o, o == PERMIT, resourceAllowed, basisRefs);
    }

    private Case expect(ConsentDecision.Outcome o, boolean resourceAllowed, boolean flagged, String... basisRefs) {
      outcome = o;
      allows = resourceAllowed;
      breakGlass = flagged;
      basis = List.of(basisRefs);
      request = new ConsentRequest("Patient/p1", client, actors, action, purposes, affiliationsUnknown);
      return this;
    }

    @Override
    public String toString() {
      return name;
    }
  }
}
