package org.fhirledger.ledger.entry;

import java.nio.charset.StandardCharsets;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.Objects;
import java.util.Optional;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.fhirledger.ledger.LedgerUnavailableException;

/**
 * Computes patient pseudonyms: HMAC-SHA256(per-patient secret, UTF-8 patient reference), with secrets from a
 * {@link PatientSecretStore}. Thread-safe.
 */
public final class Pseudonymizer {
  private final PatientSecretStore secrets;

  public Pseudonymizer(PatientSecretStore secrets) {
    this.secrets = Objects.requireNonNull(secrets, "secrets");
  }

  /** The patient's pseudonym, creating the patient's secret on first use. */
  public Pseudonym pseudonymFor(String patientReference) throws LedgerUnavailableException {
    return hmac(secrets.secretFor(patientReference), patientReference);
  }

  /** The patient's pseudonym if the patient has a secret (empty after erasure): for finding a patient's entries. */
  public Optional<Pseudonym> existingPseudonym(String patientReference) throws LedgerUnavailableException {
    Optional<byte[]> s = secrets.existingSecret(patientReference);
    return s.isEmpty() ? Optional.empty() : Optional.of(hmac(s.get(), patientReference));
  }

  static Pseudonym hmac(byte[] secret, String patientReference) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret, "HmacSHA256"));
      return new Pseudonym(mac.doFinal(patientReference.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException | InvalidKeyException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }
}
