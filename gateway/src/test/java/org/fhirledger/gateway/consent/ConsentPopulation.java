package org.fhirledger.gateway.consent;

import static org.fhirledger.gateway.consent.ConsentFixtures.ACT_CODE;
import static org.fhirledger.gateway.consent.ConsentFixtures.LOINC;
import static org.fhirledger.gateway.consent.ConsentFixtures.consent;
import static org.fhirledger.gateway.consent.ConsentFixtures.deny;
import static org.fhirledger.gateway.consent.ConsentFixtures.permit;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Reference;

/**
 * A synthetic, deterministic population for benchmarks: {@code patients} patients with {@code perPatient} active
 * privacy Consents each, of five typical shapes (2–3 levels of provisions), plus requests and resources to decide.
 */
final class ConsentPopulation {

  private ConsentPopulation() {}

  static List<Consent> consents(int patients, int perPatient) {
    List<Consent> all = new ArrayList<>(patients * perPatient);
    for (int i = 0; i < patients; i++) {
      for (int j = 0; j < perPatient; j++) {
        all.add(consent("bc-" + i + "-" + j, "1", "Patient/bp" + i, Consent.ConsentState.ACTIVE, shape(i, j)));
      }
    }
    return all;
  }

  private static ConsentFixtures.P shape(int i, int j) {
    return switch (j % 5) {
      // deny all > permit a practitioner for treatment this year > deny HIV-labelled data (3 levels)
      case 0 -> deny().nest(permit().actor("Practitioner/dr" + (i % 500)).purpose("TREAT")
          .period("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z")
          .nest(deny().label(ACT_CODE, "HIV")));
      // permit an organization > deny one kind of lab result (2 levels)
      case 1 -> permit().actor("Organization/org" + (i % 50))
          .nest(deny().clazz(Rule.RESOURCE_TYPES, "Observation").code(LOINC, "75622-1"));
      // deny an organization collecting data > permit collecting Observations (2 levels)
      case 2 -> deny().actor("Organization/org" + ((i + 7) % 50)).action("collect")
          .nest(permit().clazz(Rule.RESOURCE_TYPES, "Observation"));
      // permit an app for data from 2015 on > deny restricted data (2 levels)
      case 3 -> permit().client("app-" + (i % 20)).dataPeriod("2015-01-01T00:00:00Z", null)
          .nest(deny().label(Rule.CONFIDENTIALITY, "R").nest(permit().purpose("ETREAT")));
      // permit a related person > deny payment purposes (2 levels)
      default -> permit().actor("RelatedPerson/rp" + i).nest(deny().purpose("HPAYMT"));
    };
  }

  /** {@code n} requests spread over the patients and actors of the population. */
  static List<ConsentRequest> requests(int patients, int n) {
    List<ConsentRequest> requests = new ArrayList<>(n);
    for (int k = 0; k < n; k++) {
      int i = (int) ((k * 2654435761L) % patients);
      Set<String> actors = switch (k % 4) {
        case 0 -> Set.of("Practitioner/dr" + (i % 500));
        case 1 -> Set.of("Practitioner/dr" + ((i + 1) % 500), "Organization/org" + (i % 50));
        case 2 -> Set.of("RelatedPerson/rp" + i);
        default -> Set.of("Practitioner/dr" + (k % 500), "PractitionerRole/role" + (k % 100));
      };
      String purpose = k % 7 == 0 ? "HPAYMT" : "TREAT";
      requests.add(new ConsentRequest("Patient/bp" + i, "app-" + (k % 25), actors, ConsentAction.ACCESS,
          Set.of(purpose)));
    }
    return requests;
  }

  /** {@code n} Observations with a mix of codes, dates and labels. */
  static List<Observation> observations(int n) {
    List<Observation> list = new ArrayList<>(n);
    for (int k = 0; k < n; k++) {
      Observation o = new Observation();
      o.setId("Observation/bo" + k);
      o.setStatus(Observation.ObservationStatus.FINAL);
      o.setSubject(new Reference("Patient/bp" + k));
      o.setCode(new CodeableConcept(new Coding(LOINC, k % 5 == 0 ? "75622-1" : "8867-4", null)));
      o.addCategory(new CodeableConcept(
          new Coding("http://terminology.hl7.org/CodeSystem/observation-category", "vital-signs", null)));
      o.setEffective(new DateTimeType((2010 + k % 16) + "-06-01T10:00:00Z"));
      if (k % 3 == 0) {
        o.getMeta().addSecurity(Rule.CONFIDENTIALITY, k % 2 == 0 ? "R" : "N", null);
      }
      if (k % 11 == 0) {
        o.getMeta().addSecurity(ACT_CODE, "HIV", null);
      }
      list.add(o);
    }
    return list;
  }
}
