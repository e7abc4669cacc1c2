package org.fhirledger.ledger.entry;

import java.util.Optional;

/**
 * Off-ledger store of per-patient pseudonym secrets. Erasing a patient's secret makes every ledger entry that
 * carries that patient's pseudonym unlinkable to the patient, without rewriting the log.
 *
 * <p>Implementations are thread-safe. Secrets are 32 random bytes; returned arrays are copies.
 */
public interface PatientSecretStore {
  /**
   * The patient's secret, created (durably) on first use. After {@link #erase}, a new, unrelated secret is created.
   *
   * @param patientReference for example {@code Patient/123}; non-empty
   * @throws org.fhirledger.ledger.LedgerUnavailableException if the store fails
   */
  byte[] secretFor(String patientReference) throws org.fhirledger.ledger.LedgerUnavailableException;

  /** The patient's secret if one exists; never creates one. */
  Optional<byte[]> existingSecret(String patientReference) throws org.fhirledger.ledger.LedgerUnavailableException;

  /**
   * Destroys the patient's secret, durably.
   *
   * @return whether a secret existed
   */
  boolean erase(String patientReference) throws org.fhirledger.ledger.LedgerUnavailableException;
}
