package org.fhirledger.conformance.consent;

import static org.fhirledger.conformance.consent.ConsentGateway.COMMON_CODE;
import static org.fhirledger.conformance.consent.ConsentGateway.FHIR;
import static org.fhirledger.conformance.consent.ConsentGateway.admin;
import static org.fhirledger.conformance.consent.ConsentGateway.assertOutcome;
import static org.fhirledger.conformance.consent.ConsentGateway.clinician;
import static org.fhirledger.conformance.consent.ConsentGateway.denyAll;
import static org.fhirledger.conformance.consent.ConsentGateway.observation;
import static org.fhirledger.conformance.consent.ConsentGateway.patient;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.UUID;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.ledger.entry.ConsentDecision;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Observation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An opt-out deployment that hides denied resources as not found and does not allow break-glass: data of a patient
 * without Consent is permitted, a patient's deny-all Consent (written by the patient through the gateway) denies it
 * as 404, an emergency purpose does not override it, and revoking it (by the patient) permits again on the next
 * request.
 */
class ConsentOptOutTest {

  static ConsentGateway gw;
  static String u;
  static String v;
  static String obsU;
  static String obsV;

  @BeforeAll
  static void seed() {
    gw = new ConsentGateway("gw-consent-optout", "gateway.consent.default-policy=opt-out",
        "gateway.consent.deny-as-not-found=true", "gateway.consent.break-glass-allowed=false");
    String run = "o" + UUID.randomUUID().toString().substring(0, 8);
    u = run + "-u";
    v = run + "-v";
    gw.seed(patient(u, "Ufamily"));
    gw.seed(patient(v, "Vfamily"));
    Observation ou = observation(run + "-ou", u, COMMON_CODE);
    gw.seed(ou);
    obsU = ou.getIdPart();
    Observation ov = observation(run + "-ov", v, COMMON_CODE);
    gw.seed(ov);
    obsV = ov.getIdPart();
    RawHttp.Response created = gw.send(patientToken(), "POST", "/Consent", denyAll(v));
    assertEquals(201, created.status(), created.text());
  }

  /** Patient V's own app: the patient writes their Consent (SMART scopes allow it; Consent does not apply). */
  static String patientToken() {
    return ConsentGateway.token("patient/*.cruds").clientId("patient-app").patient(v).fhirUser("Patient/" + v).sign();
  }

  @Test
  void withoutConsent_optOutPermits() throws Exception {
    RawHttp.Response read = gw.get(clinician("d1", "TREAT"), "/Observation/" + obsU);
    assertEquals(200, read.status(), read.text());
    assertEquals(ConsentDecision.PERMIT, gw.ledgerEntry(read).consentDecision());
  }

  @Test
  void denyAll_hidesAsNotFound_breakGlassNotAllowed_andThePatientStillSeesTheirOwnData() throws Exception {
    RawHttp.Response read = gw.get(clinician("d1", "TREAT"), "/Observation/" + obsV);
    assertOutcome(read, 404);
    assertEquals(ConsentDecision.DENY, gw.ledgerEntry(read).consentDecision());
    RawHttp.Response unknown = gw.get(clinician("d1", "TREAT"), "/Observation/" + obsV + "-nonexistent");
    assertOutcome(unknown, 404);

    assertOutcome(gw.get(clinician("d1", "ETREAT"), "/Observation/" + obsV), 404);
    RawHttp.Response search = gw.get(clinician("d1", "TREAT"), "/Observation?subject=Patient/" + v);
    assertEquals(200, search.status());
    assertFalse(search.text().contains("\"" + obsV + "\""), "the denied resource is not in the search");

    assertEquals(200, gw.get(patientToken(), "/Observation/" + obsV).status(), "the data subject reads their own");
  }

  @Test
  void revokedByThePatient_permitsAgainOnTheNextRequest() {
    // A second deny-all of its own, so the other test's Consent stays in force.
    String w = v + "w";
    gw.seed(patient(w, "Wfamily"));
    Observation ow = observation(w + "-ow", w, COMMON_CODE);
    gw.seed(ow);
    String token = ConsentGateway.token("patient/*.cruds").clientId("patient-app").patient(w).fhirUser("Patient/" + w)
        .sign();
    RawHttp.Response created = gw.send(token, "POST", "/Consent", denyAll(w));
    assertEquals(201, created.status(), created.text());
    Consent consent = FHIR.newJsonParser().parseResource(Consent.class, created.text());
    assertOutcome(gw.get(clinician("d1", "TREAT"), "/Observation/" + ow.getIdPart()), 404);

    consent.setStatus(Consent.ConsentState.INACTIVE);
    RawHttp.Response revoked = gw.send(token, "PUT", "/Consent/" + consent.getIdElement().getIdPart(), consent);
    assertEquals(200, revoked.status(), revoked.text());
    RawHttp.Response next = gw.get(clinician("d1", "TREAT"), "/Observation/" + ow.getIdPart());
    assertEquals(200, next.status(), next.text());
    assertTrue(next.text().contains(ow.getIdPart()));
  }
}
