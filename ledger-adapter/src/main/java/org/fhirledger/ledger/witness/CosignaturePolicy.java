package org.fhirledger.ledger.witness;

import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * A client's trust policy: a checkpoint counts only if at least {@code quorum} of the configured witnesses cosigned
 * it (C2SP tlog-cosignature v1). Cosignatures by other keys are ignored.
 *
 * @param witnesses the witnesses this client trusts, distinct names
 * @param quorum how many of them must have cosigned, 1..witnesses.size()
 */
public record CosignaturePolicy(List<CosignatureVerifier> witnesses, int quorum) {
  public CosignaturePolicy {
    witnesses = List.copyOf(witnesses);
    if (quorum < 1 || quorum > witnesses.size()) {
      throw new IllegalArgumentException("quorum must be 1.." + witnesses.size() + ", was " + quorum);
    }
    if (witnesses.stream().map(CosignatureVerifier::name).distinct().count() != witnesses.size()) {
      throw new IllegalArgumentException("witness names must be distinct");
    }
  }

  /**
   * Checks that {@code signedNote} carries valid cosignatures from at least {@code quorum} witnesses and returns
   * their names. (The log's own signature is checked separately, with the log's key.)
   *
   * @throws LedgerVerificationException naming who cosigned and how many were needed, or a cosignature that does not
   *     verify
   */
  public List<String> verify(String signedNote) throws LedgerVerificationException {
    List<String> cosigned = new ArrayList<>();
    for (CosignatureVerifier w : witnesses) {
      if (w.find(signedNote).isPresent()) {
        cosigned.add(w.name());
      }
    }
    if (cosigned.size() < quorum) {
      throw new LedgerVerificationException("checkpoint is cosigned by " + cosigned.size() + " of the "
          + witnesses.size() + " trusted witnesses " + cosigned + ", the policy needs " + quorum);
    }
    return cosigned;
  }
}
