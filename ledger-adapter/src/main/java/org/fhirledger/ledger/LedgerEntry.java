package org.fhirledger.ledger;

import java.util.Arrays;
import java.util.Objects;

/**
 * One log entry as stored: its index and its bytes (for the gateway, a canonically encoded
 * {@code org.fhirledger.ledger.entry.EntryRecord}).
 *
 * <p>Immutable; the bytes are copied in and out.
 *
 * @param index 0-based index, >= 0
 * @param data the entry bytes, at most 65535 (the tlog-tiles bundle limit)
 */
public record LedgerEntry(long index, byte[] data) {
  public LedgerEntry {
    Objects.requireNonNull(data, "data");
    if (index < 0) {
      throw new IllegalArgumentException("index must be >= 0, was " + index);
    }
    if (data.length > 0xFFFF) {
      throw new IllegalArgumentException("entry of " + data.length + " bytes exceeds 65535");
    }
    data = data.clone();
  }

  @Override
  public byte[] data() {
    return data.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof LedgerEntry e && e.index == index && Arrays.equals(e.data, data);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(index) * 31 + Arrays.hashCode(data);
  }

  @Override
  public String toString() {
    return "LedgerEntry[" + index + ", " + data.length + " bytes]";
  }
}
