package org.fhirledger.gateway.validation;

/** What the gateway does with a write whose resource does not validate. */
public enum ValidationMode {
  /** Refuse it: 422 with an OperationOutcome naming each failing element; nothing reaches the EHR. */
  REJECT,
  /**
   * Forward it, and tell the client what is wrong in the {@code X-Validation-Issues} response header (and in the
   * OperationOutcome answer when it sent {@code Prefer: return=OperationOutcome}).
   */
  WARN,
  /** Do not validate. */
  OFF
}
