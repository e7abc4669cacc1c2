package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.time.Instant;
import java.util.Date;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.DateTimeType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Reference;

/** Builders for synthetic Consents (real HAPI R4 model objects) used by the consent tests and benchmarks. */
final class ConsentFixtures {

  static final FhirContext FHIR = FhirContext.forR4Cached();
  static final String LOINC = "http://loinc.org";
  static final String SNOMED = "http://snomed.info/sct";
  static final String ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

  private ConsentFixtures() {}

  static Consent consent(String id, String version, String patient, Consent.ConsentState status, P root) {
    Consent c = new Consent();
    c.setId("Consent/" + id + "/_history/" + version);
    c.getMeta().setVersionId(version);
    c.setStatus(status);
    c.setScope(new CodeableConcept(new Coding(CompiledConsent.SCOPE_SYSTEM, "patient-privacy", null)));
    c.addCategory(new CodeableConcept(new Coding(LOINC, "59284-0", "Patient Consent")));
    c.setPatient(new Reference(patient));
    c.setDateTime(Date.from(Instant.parse("2026-01-01T00:00:00Z")));
    if (root != null) {
      c.setProvision(root.p);
    }
    return c;
  }

  static P permit() {
    return new P(Consent.ConsentProvisionType.PERMIT);
  }

  static P deny() {
    return new P(Consent.ConsentProvisionType.DENY);
  }

  /** A provision without a type (nested: the opposite of its parent). */
  static P untyped() {
    return new P(null);
  }

  /** A fluent wrapper over {@link Consent.ProvisionComponent}. */
  static final class P {
    final Consent.ProvisionComponent p = new Consent.ProvisionComponent();

    P(Consent.ConsentProvisionType type) {
      if (type != null) {
        p.setType(type);
      }
    }

    P actor(String reference) {
      p.addActor().setRole(role()).setReference(new Reference(reference));
      return this;
    }

    P client(String clientId) {
      p.addActor().setRole(role())
          .setReference(new Reference().setIdentifier(new Identifier().setSystem(ConsentRequest.CLIENT_ID_SYSTEM)
              .setValue(clientId)));
      return this;
    }

    private static CodeableConcept role() {
      return new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP",
          "information recipient"));
    }

    P action(String code) {
      p.addAction(new CodeableConcept(new Coding(ConsentAction.SYSTEM, code, null)));
      return this;
    }

    P purpose(String code) {
      p.addPurpose(new Coding(Rule.ACT_REASON, code, null));
      return this;
    }

    P period(String start, String end) {
      p.setPeriod(period0(start, end));
      return this;
    }

    P dataPeriod(String start, String end) {
      p.setDataPeriod(period0(start, end));
      return this;
    }

    private static Period period0(String start, String end) {
      Period period = new Period();
      if (start != null) {
        period.setStartElement(new DateTimeType(start));
      }
      if (end != null) {
        period.setEndElement(new DateTimeType(end));
      }
      return period;
    }

    P clazz(String system, String code) {
      p.addClass_(new Coding(system, code, null));
      return this;
    }

    P code(String system, String code) {
      p.addCode(new CodeableConcept(new Coding(system, code, null)));
      return this;
    }

    P label(String system, String code) {
      p.addSecurityLabel(new Coding(system, code, null));
      return this;
    }

    P nest(P... children) {
      for (P child : children) {
        p.addProvision(child.p);
      }
      return this;
    }
  }
}
