package org.fhirledger.gateway.consent;

import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;
import java.util.stream.Collectors;
import org.hl7.fhir.instance.model.api.IBaseResource;

/**
 * The answer of {@link ConsentService#decide}: permit, deny, or permit with a per-resource filter, the Consent versions
 * it rested on, and whether it is an emergency (break-glass) override. Immutable and thread-safe; {@link #allows} may
 * be called from any thread, any number of times.
 *
 * @param outcome permit, deny or filter, non-null
 * @param breakGlass true when a break-glass purpose ({@code ETREAT}) overrode the patient's Consents; the ledger
 *     entry must say so
 * @param basis the Consent versions the decision rested on (those that permitted, denied or filter), in index
 *     order; empty when the deployment default or a gateway rule decided
 * @param reason why, for logs and OperationOutcomes; never contains PHI (Consent ids and codes only)
 */
public record ConsentDecision(Outcome outcome, boolean breakGlass, List<ConsentVersion> basis, String reason,
    Predicate<IBaseResource> filter) {

  /** Permit all of the patient's data for this request, deny all, or decide per resource. */
  public enum Outcome { PERMIT, DENY, FILTER }

  public ConsentDecision {
    Objects.requireNonNull(outcome, "outcome");
    basis = List.copyOf(Objects.requireNonNull(basis, "basis"));
    Objects.requireNonNull(reason, "reason");
    if ((outcome == Outcome.FILTER) != (filter != null)) {
      throw new IllegalArgumentException("a filter is required for, and only for, a FILTER decision");
    }
    if (breakGlass && outcome != Outcome.PERMIT) {
      throw new IllegalArgumentException("a break-glass decision is a permit");
    }
  }

  static ConsentDecision permit(List<ConsentVersion> basis, String reason) {
    return new ConsentDecision(Outcome.PERMIT, false, basis, reason, null);
  }

  static ConsentDecision deny(List<ConsentVersion> basis, String reason) {
    return new ConsentDecision(Outcome.DENY, false, basis, reason, null);
  }

  /**
   * Whether this decision lets {@code resource} (one of the patient's resources: a search result, an included
   * resource, a history entry, or the body of a write) through.
   */
  public boolean allows(IBaseResource resource) {
    return switch (outcome) {
      case PERMIT -> true;
      case DENY -> false;
      case FILTER -> filter.test(resource);
    };
  }

  /** The ledger's code for this decision: a filter is {@code PERMIT_FILTERED}, a break-glass permit {@code BREAK_GLASS}. */
  public org.fhirledger.ledger.entry.ConsentDecision ledgerDecision() {
    if (breakGlass) {
      return org.fhirledger.ledger.entry.ConsentDecision.BREAK_GLASS;
    }
    return switch (outcome) {
      case PERMIT -> org.fhirledger.ledger.entry.ConsentDecision.PERMIT;
      case DENY -> org.fhirledger.ledger.entry.ConsentDecision.DENY;
      case FILTER -> org.fhirledger.ledger.entry.ConsentDecision.PERMIT_FILTERED;
    };
  }

  /**
   * The ledger entry's {@code consentReference}: the basis as versioned references separated by single spaces
   * ({@code Consent/7/_history/2 Consent/9/_history/1}), or null when no Consent was involved.
   */
  public String ledgerReference() {
    return basis.isEmpty() ? null : basis.stream().map(ConsentVersion::reference).collect(Collectors.joining(" "));
  }
}
