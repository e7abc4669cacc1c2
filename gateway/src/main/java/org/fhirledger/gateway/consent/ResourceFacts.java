package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.BaseRuntimeChildDefinition;
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.AllergyIntolerance;
import org.hl7.fhir.r4.model.BaseDateTimeType;
import org.hl7.fhir.r4.model.CarePlan;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Composition;
import org.hl7.fhir.r4.model.Condition;
import org.hl7.fhir.r4.model.DiagnosticReport;
import org.hl7.fhir.r4.model.DocumentReference;
import org.hl7.fhir.r4.model.Encounter;
import org.hl7.fhir.r4.model.Immunization;
import org.hl7.fhir.r4.model.MedicationAdministration;
import org.hl7.fhir.r4.model.MedicationDispense;
import org.hl7.fhir.r4.model.MedicationRequest;
import org.hl7.fhir.r4.model.MedicationStatement;
import org.hl7.fhir.r4.model.Observation;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Procedure;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.r4.model.ServiceRequest;
import org.hl7.fhir.r4.model.Type;

/**
 * What a Consent provision can ask of one resource: its type, profiles, codes, security labels and clinically
 * relevant time. Extracted once per resource per decision.
 *
 * <p>Clinically relevant time, by type (the first present wins; none present means "unknown"):
 * Observation effective[x], issued; DiagnosticReport effective[x], issued; Condition onset[x], recordedDate;
 * Procedure performed[x]; MedicationRequest authoredOn; MedicationStatement effective[x], dateAsserted;
 * MedicationAdministration effective[x]; MedicationDispense whenHandedOver, whenPrepared; Immunization
 * occurrence[x] (dateTime), recorded; AllergyIntolerance onset[x], recordedDate; Encounter period; CarePlan period,
 * created; ServiceRequest occurrence[x], authoredOn; DocumentReference context.period, date; Composition date.
 * Any other type has no clinically relevant time. A Period with no end is open-ended; a Timing, Age, Range or string
 * counts as unknown.
 *
 * <p>Codes: every Coding in the elements named {@code code}, {@code type}, {@code category}, {@code vaccineCode} and
 * {@code medication[x]} (when a CodeableConcept) of the resource, whatever its type.
 */
final class ResourceFacts {

  private static final String[] CODE_ELEMENTS = {"code", "type", "category", "vaccineCode", "medication[x]"};
  private static final Map<Class<?>, List<BaseRuntimeChildDefinition>> CODE_CHILDREN = new ConcurrentHashMap<>();

  final String type;
  final List<String> profiles;
  final List<Coding> codes;
  final List<Coding> securityLabels;
  /** Null when the resource has no known clinically relevant time. */
  final Interval dataTime;

  private ResourceFacts(String type, List<String> profiles, List<Coding> codes, List<Coding> securityLabels,
      Interval dataTime) {
    this.type = type;
    this.profiles = profiles;
    this.codes = codes;
    this.securityLabels = securityLabels;
    this.dataTime = dataTime;
  }

  static ResourceFacts of(FhirContext fhir, IBaseResource resource) {
    String type = fhir.getResourceType(resource);
    List<String> profiles = new ArrayList<>(2);
    List<Coding> labels = new ArrayList<>(2);
    if (resource instanceof Resource r && r.hasMeta()) {
      r.getMeta().getProfile().forEach(p -> {
        if (p.getValue() != null) {
          profiles.add(stripVersion(p.getValue()));
        }
      });
      labels.addAll(r.getMeta().getSecurity());
    }
    return new ResourceFacts(type, profiles, codes(fhir, resource), labels, dataTime(resource));
  }

  static String stripVersion(String canonical) {
    int bar = canonical.indexOf('|');
    return bar < 0 ? canonical : canonical.substring(0, bar);
  }

  private static List<Coding> codes(FhirContext fhir, IBaseResource resource) {
    List<BaseRuntimeChildDefinition> children = CODE_CHILDREN.computeIfAbsent(resource.getClass(), c -> {
      RuntimeResourceDefinition def = fhir.getResourceDefinition(resource);
      List<BaseRuntimeChildDefinition> found = new ArrayList<>();
      for (String name : CODE_ELEMENTS) {
        BaseRuntimeChildDefinition child = def.getChildByName(name);
        if (child != null) {
          found.add(child);
        }
      }
      return List.copyOf(found);
    });
    List<Coding> codes = new ArrayList<>(4);
    for (BaseRuntimeChildDefinition child : children) {
      for (IBase value : child.getAccessor().getValues(resource)) {
        if (value instanceof CodeableConcept cc) {
          codes.addAll(cc.getCoding());
        } else if (value instanceof Coding c) {
          codes.add(c);
        }
      }
    }
    return codes;
  }

  private static Interval dataTime(IBaseResource resource) {
    if (resource instanceof Observation o) {
      return first(o.getEffective(), o.getIssuedElement());
    } else if (resource instanceof DiagnosticReport d) {
      return first(d.getEffective(), d.getIssuedElement());
    } else if (resource instanceof Condition c) {
      return first(c.getOnset(), c.getRecordedDateElement());
    } else if (resource instanceof Procedure p) {
      return first(p.getPerformed());
    } else if (resource instanceof MedicationRequest m) {
      return first(m.getAuthoredOnElement());
    } else if (resource instanceof MedicationStatement m) {
      return first(m.getEffective(), m.getDateAssertedElement());
    } else if (resource instanceof MedicationAdministration m) {
      return first(m.getEffective());
    } else if (resource instanceof MedicationDispense m) {
      return first(m.getWhenHandedOverElement(), m.getWhenPreparedElement());
    } else if (resource instanceof Immunization i) {
      return first(i.getOccurrence(), i.getRecordedElement());
    } else if (resource instanceof AllergyIntolerance a) {
      return first(a.getOnset(), a.getRecordedDateElement());
    } else if (resource instanceof Encounter e) {
      return first(e.getPeriod());
    } else if (resource instanceof CarePlan c) {
      return first(c.getPeriod(), c.getCreatedElement());
    } else if (resource instanceof ServiceRequest s) {
      return first(s.getOccurrence(), s.getAuthoredOnElement());
    } else if (resource instanceof DocumentReference d) {
      return first(d.getContext().getPeriod(), d.getDateElement());
    } else if (resource instanceof Composition c) {
      return first(c.getDateElement());
    }
    return null;
  }

  private static Interval first(Type... candidates) {
    for (Type t : candidates) {
      if (t instanceof BaseDateTimeType dt && dt.getValue() != null) {
        return Interval.of(dt);
      }
      if (t instanceof Period p && (p.getStart() != null || p.getEnd() != null)) {
        return Interval.of(p);
      }
    }
    return null;
  }
}
