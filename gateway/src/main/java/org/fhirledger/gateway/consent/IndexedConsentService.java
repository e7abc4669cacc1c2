package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Predicate;
import org.fhirledger.gateway.consent.CompiledConsent.Bound;
import org.fhirledger.gateway.consent.CompiledConsent.Result;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * {@link ConsentService} over a {@link ConsentIndex}. Thread-safe; no I/O.
 *
 * <p>In order:
 * <ol>
 *   <li>the index is not in sync → deny ("consent index not ready");
 *   <li>the data subject acting on their own record ({@code Patient/<id>} among the actors) → permit: a patient's
 *       privacy Consent restricts others, not the patient's own right of access;
 *   <li>purpose {@code ETREAT} and the deployment allows break-glass → permit, flagged as break-glass, naming the
 *       Consents it overrode (every honoured ETREAT request is flagged, whether or not a Consent would have denied);
 *   <li>each active Consent of the patient answers permit, deny or nothing; across Consents deny wins over permit,
 *       and where none answers, the deployment default (opt-in: deny, opt-out: permit) applies. When the answer
 *       depends on the resource (class, code, security label, data period), the decision is a filter that evaluates
 *       the same rules per resource.
 * </ol>
 * A request with purpose {@code ETREAT} where break-glass is not allowed is decided by step 4 with ETREAT treated as
 * a kind of {@code TREAT} (its parent in v3 PurposeOfUse).
 */
public final class IndexedConsentService implements ConsentService {

  static final String ETREAT = "ETREAT";
  static final String NOT_READY = "consent index not ready";

  private final ConsentIndex index;
  private final ConsentPolicy policy;
  private final Clock clock;
  private final FhirContext fhir;

  public IndexedConsentService(ConsentIndex index, ConsentPolicy policy, Clock clock, FhirContext fhir) {
    this.index = Objects.requireNonNull(index, "index");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.fhir = Objects.requireNonNull(fhir, "fhir");
  }

  @Override
  public ConsentDecision decide(ConsentRequest request) {
    if (!index.inSync()) {
      return ConsentDecision.deny(List.of(), NOT_READY);
    }
    if (request.bySubject()) {
      return ConsentDecision.permit(List.of(), "the patient acting on their own record");
    }
    boolean emergency = request.purposes().contains(ETREAT);
    ConsentDecision byConsent = byConsents(request);
    if (emergency && policy.breakGlassAllowed()) {
      List<ConsentVersion> overridden = byConsent.outcome() == ConsentDecision.Outcome.PERMIT
          ? List.of() : byConsent.basis();
      return new ConsentDecision(ConsentDecision.Outcome.PERMIT, true, overridden,
          "break-glass: emergency treatment (ETREAT) allowed by the deployment", null);
    }
    if (emergency) {
      return new ConsentDecision(byConsent.outcome(), false, byConsent.basis(),
          byConsent.reason() + "; break-glass is not allowed here", byConsent.filter());
    }
    return byConsent;
  }

  private ConsentDecision byConsents(ConsentRequest request) {
    List<CompiledConsent> consents = index.activeFor(request.patient());
    if (consents.isEmpty()) {
      return byDefault("no active Consent");
    }
    Set<String> purposes = request.purposes();
    if (purposes.contains(ETREAT) && !purposes.contains("TREAT")) {
      purposes = new HashSet<>(purposes);
      purposes.add("TREAT");
    }
    long now = clock.millis();
    List<ConsentVersion> denying = new ArrayList<>(1);
    List<ConsentVersion> permitting = new ArrayList<>(1);
    List<Bound> variable = new ArrayList<>(1);
    List<ConsentVersion> variableVersions = new ArrayList<>(1);
    for (CompiledConsent c : consents) {
      Bound b = c.bind(request, purposes, now);
      if (b == null) {
        continue;
      }
      if (b.constant == null) {
        variable.add(b);
        variableVersions.add(c.version);
      } else if (b.constant == Result.DENY) {
        denying.add(c.version);
      } else if (b.constant == Result.PERMIT) {
        permitting.add(c.version);
      }
    }
    if (!denying.isEmpty()) {
      return ConsentDecision.deny(denying, "denied by " + refs(denying));
    }
    if (variable.isEmpty()) {
      if (!permitting.isEmpty()) {
        return ConsentDecision.permit(permitting, "permitted by " + refs(permitting));
      }
      return byDefault("no Consent provision applies");
    }
    List<ConsentVersion> basis = new ArrayList<>(variableVersions);
    basis.addAll(permitting);
    boolean anyPermit = !permitting.isEmpty();
    boolean defaultPermit = policy.defaultPolicy() == ConsentPolicy.DefaultPolicy.OPT_OUT;
    List<Bound> rules = List.copyOf(variable);
    Predicate<IBaseResource> filter = resource -> {
      ResourceFacts facts = ResourceFacts.of(fhir, resource);
      boolean permit = anyPermit;
      for (Bound b : rules) {
        Result r = b.eval(facts);
        if (r == Result.DENY) {
          return false;
        }
        permit |= r == Result.PERMIT;
      }
      return permit || defaultPermit;
    };
    return new ConsentDecision(ConsentDecision.Outcome.FILTER, false, basis,
        "per resource, by " + refs(basis) + " (default " + policyName() + ")", filter);
  }

  private ConsentDecision byDefault(String why) {
    String reason = why + "; deployment default " + policyName();
    return policy.defaultPolicy() == ConsentPolicy.DefaultPolicy.OPT_OUT
        ? ConsentDecision.permit(List.of(), reason) : ConsentDecision.deny(List.of(), reason);
  }

  private String policyName() {
    return policy.defaultPolicy() == ConsentPolicy.DefaultPolicy.OPT_OUT ? "opt-out" : "opt-in";
  }

  private static String refs(List<ConsentVersion> versions) {
    StringBuilder sb = new StringBuilder();
    for (ConsentVersion v : versions) {
      if (!sb.isEmpty()) {
        sb.append(", ");
      }
      sb.append(v.reference());
    }
    return sb.toString();
  }
}
