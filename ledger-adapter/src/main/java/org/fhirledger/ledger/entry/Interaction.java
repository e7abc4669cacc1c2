package org.fhirledger.ledger.entry;

/**
 * The interaction an entry records (FHIR's RESTful interactions plus the gateway's own). Codes are part of the
 * canonical encoding and never change; add new values with new codes.
 */
public enum Interaction {
  READ(1), VREAD(2), SEARCH(3), HISTORY(4), CREATE(5), UPDATE(6), PATCH(7), DELETE(8), OPERATION(9),
  CONSENT_CHANGE(10), BREAK_GLASS(11), CAPABILITIES(12), BATCH(13), TRANSACTION(14), RECONCILE(15);

  final int code;

  Interaction(int code) {
    this.code = code;
  }

  static Interaction of(int code) {
    for (Interaction i : values()) {
      if (i.code == code) {
        return i;
      }
    }
    throw new IllegalArgumentException("unknown interaction code " + code);
  }
}
