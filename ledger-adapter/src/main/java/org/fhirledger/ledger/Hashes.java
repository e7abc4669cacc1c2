package org.fhirledger.ledger;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

final class Hashes {
  private Hashes() {}

  static List<byte[]> copy(List<byte[]> hashes) {
    Objects.requireNonNull(hashes, "hashes");
    List<byte[]> out = new ArrayList<>(hashes.size());
    for (byte[] h : hashes) {
      if (h.length != 32) {
        throw new IllegalArgumentException("proof hashes must be 32 bytes, got " + h.length);
      }
      out.add(h.clone());
    }
    return Collections.unmodifiableList(out);
  }
}
