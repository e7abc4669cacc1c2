package org.fhirledger.ledger.entry;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A patient pseudonym: HMAC-SHA256(per-patient secret, patient reference), 32 bytes. Without the secret (held
 * off-ledger) it cannot be linked to the patient; once the secret is erased, to anything.
 *
 * <p>Immutable; bytes are copied in and out. Ordered by unsigned bytes, which fixes the order in an entry.
 */
public record Pseudonym(byte[] value) implements Comparable<Pseudonym> {
  public Pseudonym {
    Objects.requireNonNull(value, "value");
    if (value.length != 32) {
      throw new IllegalArgumentException("a pseudonym is 32 bytes, got " + value.length);
    }
    value = value.clone();
  }

  @Override
  public byte[] value() {
    return value.clone();
  }

  @Override
  public int compareTo(Pseudonym o) {
    return Arrays.compareUnsigned(value, o.value);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Pseudonym p && Arrays.equals(p.value, value);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(value);
  }

  @Override
  public String toString() {
    return HexFormat.of().formatHex(value);
  }
}
