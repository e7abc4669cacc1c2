package org.fhirledger.ledger.entry;

/**
 * What kind of entry a record is. Codes are part of the canonical encoding and never change.
 */
public enum EntryType {
  /** A completed interaction (a read, or a write recorded in one step). */
  INTERACTION(1),
  /** A write the gateway is about to forward, recorded before forwarding. */
  INTENT(2),
  /** The outcome of an earlier {@link #INTENT}, which it references by ledger index. */
  OUTCOME(3);

  final int code;

  EntryType(int code) {
    this.code = code;
  }

  static EntryType of(int code) {
    for (EntryType t : values()) {
      if (t.code == code) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown entry type code " + code);
  }
}
