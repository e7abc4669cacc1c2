package org.fhirledger.gateway.auth;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.RuntimeResourceDefinition;
import ca.uhn.fhir.context.RuntimeSearchParam;
import ca.uhn.fhir.fhirpath.IFhirPath;
import ca.uhn.fhir.rest.api.RestSearchParameterTypeEnum;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.hl7.fhir.instance.model.api.IBase;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.instance.model.api.IPrimitiveType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Reference;

/**
 * Answers the two questions authorization asks of a resource, in memory: is it in a patient's
 * compartment (HAPI's R4 CompartmentDefinition for Patient), and does it match a granular scope's
 * search parameters. Thread-safe.
 *
 * <p>Granular queries are matched for token parameters ({@code system|code}, {@code |code},
 * {@code code}, {@code system|}), reference parameters ({@code Type/id} or {@code id}) and string
 * parameters (case-insensitive prefix), values ORed by commas; a parameter with a modifier, an
 * unknown parameter or one of another type never matches, so a scope the gateway cannot check
 * grants nothing (fail closed).
 */
final class ResourceMatcher {

  private final FhirContext fhirContext;
  private final IFhirPath fhirPath;

  ResourceMatcher(FhirContext fhirContext) {
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    this.fhirPath = fhirContext.newFhirPath();
  }

  /** Whether resources of this type belong to patient compartments at all. */
  boolean hasPatientCompartment(String type) {
    if ("Patient".equals(type)) {
      return true;
    }
    if (!fhirContext.getResourceTypes().contains(type)) {
      return false;
    }
    return !fhirContext.getResourceDefinition(type).getSearchParamsForCompartmentName("Patient").isEmpty();
  }

  /**
   * The search parameter that confines a search of {@code type} to one patient's compartment: {@code _id}
   * for Patient, else {@code patient}, {@code subject} or the first compartment parameter.
   */
  String compartmentParameter(String type) {
    if ("Patient".equals(type)) {
      return "_id";
    }
    List<RuntimeSearchParam> params =
        fhirContext.getResourceDefinition(type).getSearchParamsForCompartmentName("Patient");
    for (String preferred : List.of("patient", "subject")) {
      for (RuntimeSearchParam p : params) {
        if (p.getName().equals(preferred)) {
          return preferred;
        }
      }
    }
    return params.get(0).getName();
  }

  /** Whether {@code resource} is in the compartment of {@code Patient/<patientId>}. */
  boolean inPatientCompartment(IBaseResource resource, String patientId) {
    String type = fhirContext.getResourceType(resource);
    if ("Patient".equals(type)) {
      return resource.getIdElement().hasIdPart() && patientId.equals(resource.getIdElement().getIdPart());
    }
    if (!hasPatientCompartment(type)) {
      return false;
    }
    for (IIdType owner : fhirContext.newTerser().getCompartmentOwnersForResource("Patient", resource, Set.of())) {
      if (patientId.equals(owner.getIdPart())
          && (owner.getResourceType() == null || "Patient".equals(owner.getResourceType()))) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code resource} matches every parameter of a granular scope's query. */
  boolean matches(IBaseResource resource, Map<String, List<String>> query) {
    RuntimeResourceDefinition def = fhirContext.getResourceDefinition(resource);
    for (Map.Entry<String, List<String>> param : query.entrySet()) {
      RuntimeSearchParam sp = param.getKey().contains(":") ? null : def.getSearchParam(param.getKey());
      if (sp == null || sp.getPath() == null || sp.getPath().isBlank()) {
        return false;
      }
      List<IBase> values;
      try {
        values = fhirPath.evaluate(resource, sp.getPath(), IBase.class);
      } catch (RuntimeException e) {
        return false;
      }
      for (String required : param.getValue()) {
        if (!anyMatches(sp.getParamType(), values, required)) {
          return false;
        }
      }
    }
    return true;
  }

  private static boolean anyMatches(RestSearchParameterTypeEnum type, List<IBase> values, String alternatives) {
    for (String wanted : alternatives.split(",")) {
      for (IBase value : values) {
        if (matchesOne(type, value, wanted)) {
          return true;
        }
      }
    }
    return false;
  }

  private static boolean matchesOne(RestSearchParameterTypeEnum type, IBase value, String wanted) {
    return switch (type) {
      case TOKEN -> tokenMatches(value, wanted);
      case REFERENCE -> value instanceof Reference ref && ref.getReferenceElement().hasIdPart()
          && (wanted.contains("/")
              ? wanted.equals(ref.getReferenceElement().toUnqualifiedVersionless().getValue())
              : wanted.equals(ref.getReferenceElement().getIdPart()));
      case STRING -> value instanceof IPrimitiveType<?> p && p.getValueAsString() != null
          && p.getValueAsString().toLowerCase(Locale.ROOT).startsWith(wanted.toLowerCase(Locale.ROOT));
      default -> false;
    };
  }

  private static boolean tokenMatches(IBase value, String wanted) {
    String system = null;
    String code = wanted;
    int bar = wanted.indexOf('|');
    if (bar >= 0) {
      system = wanted.substring(0, bar);
      code = wanted.substring(bar + 1);
    }
    if (value instanceof CodeableConcept cc) {
      for (Coding c : cc.getCoding()) {
        if (codeMatches(system, code, c.getSystem(), c.getCode())) {
          return true;
        }
      }
      return false;
    }
    if (value instanceof Coding c) {
      return codeMatches(system, code, c.getSystem(), c.getCode());
    }
    if (value instanceof Identifier id) {
      return codeMatches(system, code, id.getSystem(), id.getValue());
    }
    if (value instanceof IPrimitiveType<?> p) {
      return (system == null || system.isEmpty()) && !code.isEmpty() && code.equals(p.getValueAsString());
    }
    return false;
  }

  /** {@code system} null: any system; empty: no system; {@code code} empty: any code of the system. */
  private static boolean codeMatches(String system, String code, String actualSystem, String actualCode) {
    if (system != null) {
      if (system.isEmpty() ? actualSystem != null && !actualSystem.isEmpty() : !system.equals(actualSystem)) {
        return false;
      }
    }
    return code.isEmpty() ? system != null && !system.isEmpty() : code.equals(actualCode);
  }
}
