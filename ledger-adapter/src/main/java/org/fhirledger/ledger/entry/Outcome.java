package org.fhirledger.ledger.entry;

/** How an interaction ended. Codes are part of the canonical encoding and never change. */
public enum Outcome {
  /** Served (2xx/3xx). */
  SUCCESS(1),
  /** Refused by authorization or consent. */
  DENIED(2),
  /** Failed (client error, upstream error, timeout). */
  FAILED(3);

  final int code;

  Outcome(int code) {
    this.code = code;
  }

  static Outcome of(int code) {
    for (Outcome o : values()) {
      if (o.code == code) {
        return o;
      }
    }
    throw new IllegalArgumentException("unknown outcome code " + code);
  }
}
