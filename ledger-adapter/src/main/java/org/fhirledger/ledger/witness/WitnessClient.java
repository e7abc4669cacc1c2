package org.fhirledger.ledger.witness;

import java.io.IOException;

/**
 * How a log reaches one witness's {@code add-checkpoint} (HTTP in the gateway; a {@link Witness} directly in tests).
 * Thread-safe.
 */
public interface WitnessClient {
  /** The witness's cosigning key, by which its answers are checked. */
  CosignatureVerifier key();

  /** Sends an add-checkpoint body and returns the witness's answer. */
  Witness.Response addCheckpoint(String body) throws IOException;

  /** A client calling {@code witness} in this process. */
  static WitnessClient of(Witness witness) {
    return new WitnessClient() {
      @Override
      public CosignatureVerifier key() {
        return witness.verifier();
      }

      @Override
      public Witness.Response addCheckpoint(String body) throws IOException {
        try {
          return witness.addCheckpoint(body);
        } catch (org.fhirledger.ledger.LedgerUnavailableException e) {
          return new Witness.Response(503, e.getMessage() + "\n", "text/plain");
        }
      }
    };
  }
}
