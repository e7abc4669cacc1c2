package org.fhirledger.ledger.entry;

/** The consent decision an interaction rested on. Codes are part of the canonical encoding and never change. */
public enum ConsentDecision {
  PERMIT(1),
  DENY(2),
  /** Permitted with some resources filtered or masked. */
  PERMIT_FILTERED(3),
  /** No consent applies (for example system metadata). */
  NOT_APPLICABLE(4),
  /** Emergency access overriding consent, as policy allows. */
  BREAK_GLASS(5);

  final int code;

  ConsentDecision(int code) {
    this.code = code;
  }

  static ConsentDecision of(int code) {
    for (ConsentDecision d : values()) {
      if (d.code == code) {
        return d;
      }
    }
    throw new IllegalArgumentException("unknown consent decision code " + code);
  }
}
