package org.fhirledger.gateway.auth;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.fhirledger.gateway.auth.SmartScope.Context;
import org.fhirledger.gateway.auth.SmartScope.Permission;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * What a caller's SMART scopes allow. A scope is <em>restricted</em> when it is a {@code patient/}
 * scope (only the patient in context's compartment) or granular (only resources matching its
 * query); a request is allowed when any usable scope allows it, and a resource may be seen or
 * written when any usable scope covering its type is satisfied by it. {@code patient/} scopes are
 * usable only when the token has a patient in context. Stateless and thread-safe.
 */
final class ScopePolicy {

  /**
   * Types outside every patient compartment that still carry patient data (attachments, documents and
   * messages, tasks, record links): a {@code patient/} scope never reaches them, since the gateway cannot
   * tell whose they are.
   */
  static final Set<String> PATIENT_DATA_WITHOUT_COMPARTMENT =
      Set.of("Binary", "Bundle", "Task", "Linkage", "MessageHeader", "Subscription");

  private final ResourceMatcher matcher;

  ScopePolicy(ResourceMatcher matcher) {
    this.matcher = Objects.requireNonNull(matcher, "matcher");
  }

  ResourceMatcher matcher() {
    return matcher;
  }

  /** The caller's scopes that can grant anything: {@code patient/} ones only with a patient in context. */
  static List<SmartScope> usable(Caller caller) {
    return caller.scopes().stream().filter(s -> s.context() != Context.PATIENT || caller.patient() != null).toList();
  }

  /** The usable scopes that allow {@code permission} on {@code type}. */
  static List<SmartScope> granting(Caller caller, String type, Permission permission) {
    return usable(caller).stream().filter(s -> s.covers(type) && s.allows(permission)).toList();
  }

  static boolean restricted(SmartScope scope) {
    return scope.context() == Context.PATIENT || scope.isGranular();
  }

  /** Whether some usable scope allows {@code permission} on {@code type} without any restriction. */
  static boolean unrestricted(Caller caller, String type, Permission permission) {
    return granting(caller, type, permission).stream().anyMatch(s -> !restricted(s));
  }

  /** Whether anything this caller gets back must be checked resource by resource. */
  static boolean anyRestricted(Caller caller) {
    return usable(caller).stream().anyMatch(ScopePolicy::restricted);
  }

  /**
   * The parameters to add to a search of {@code type} so that the EHR itself returns only what the
   * granting scopes allow: the patient's compartment when every granting scope is a {@code patient/}
   * scope, a granular query when every granting scope has that same query. Empty when some granting
   * scope is unrestricted. Whatever cannot be expressed this way is still enforced on the answer.
   *
   * @param granting non-empty
   */
  Map<String, List<String>> searchConstraints(Caller caller, String type, List<SmartScope> granting) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    if (granting.stream().anyMatch(s -> !restricted(s))) {
      return out;
    }
    boolean allPatient = granting.stream().allMatch(s -> s.context() == Context.PATIENT);
    if (allPatient && matcher.hasPatientCompartment(type)) {
      String param = matcher.compartmentParameter(type);
      out.put(param, List.of(param.equals("_id") ? caller.patient() : "Patient/" + caller.patient()));
    }
    Map<String, List<String>> query = granting.get(0).query();
    if (!query.isEmpty() && granting.stream().allMatch(s -> s.query().equals(query))) {
      query.forEach((k, v) -> out.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
    }
    return out;
  }

  /** Whether the caller may be shown {@code resource} (read, search match, include, history, page). */
  boolean maySee(Caller caller, IBaseResource resource) {
    String type = resource.fhirType();
    if ("OperationOutcome".equals(type)) {
      return true;
    }
    for (SmartScope s : usable(caller)) {
      if (s.covers(type) && (s.allows(Permission.READ) || s.allows(Permission.SEARCH))
          && satisfiedBy(s, caller, resource, false)) {
        return true;
      }
    }
    return false;
  }

  /** Whether a scope allowing {@code permission} on the resource's type lets the caller write it. */
  boolean mayWrite(Caller caller, IBaseResource resource, Permission permission) {
    for (SmartScope s : granting(caller, resource.fhirType(), permission)) {
      if (satisfiedBy(s, caller, resource, true)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Whether {@code resource} is within {@code scope}: in the patient's compartment for a
   * {@code patient/} scope (a type outside every patient compartment, such as Practitioner, may be
   * read but not written that way, except {@link #PATIENT_DATA_WITHOUT_COMPARTMENT}), and matching the
   * query of a granular scope.
   */
  private boolean satisfiedBy(SmartScope scope, Caller caller, IBaseResource resource, boolean write) {
    if (scope.context() == Context.PATIENT) {
      if (PATIENT_DATA_WITHOUT_COMPARTMENT.contains(resource.fhirType())) {
        return false;
      }
      boolean compartmentType = matcher.hasPatientCompartment(resource.fhirType());
      if (compartmentType ? !matcher.inPatientCompartment(resource, caller.patient()) : write) {
        return false;
      }
    }
    return !scope.isGranular() || matcher.matches(resource, scope.query());
  }
}
