package org.fhirledger.gateway.consent;

import java.util.Objects;

/**
 * A deployment's consent policy: what applies where no Consent says anything, and whether emergency access may
 * override a patient's Consents.
 *
 * @param defaultPolicy the rule where no active Consent of the patient applies, non-null
 * @param breakGlassAllowed whether a request with purpose of use {@code ETREAT} overrides Consents (the decision is
 *     then flagged as break-glass, so its ledger entry is)
 */
public record ConsentPolicy(DefaultPolicy defaultPolicy, boolean breakGlassAllowed) {

  public ConsentPolicy {
    Objects.requireNonNull(defaultPolicy, "defaultPolicy");
  }

  /** What applies where no Consent of the patient applies. */
  public enum DefaultPolicy {
    /** Deny unless a Consent permits. */
    OPT_IN,
    /** Permit unless a Consent denies. */
    OPT_OUT
  }
}
