package org.fhirledger.gateway.ledger;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.PatientSecretStore;

/**
 * Keeps patients' pseudonym secrets in memory in front of the database store, so that naming a
 * patient on the ledger costs no database round trip once the patient has been seen (it was an H2
 * session and a SELECT on every read). Thread-safe.
 *
 * <p>Erasure stays exact: {@link #erase} runs inside the cache's per-key computation, so no
 * concurrent {@link #secretFor} can put the erased secret back; after it returns, the next lookup
 * goes to the database and finds no secret (and creates a new, unrelated one).
 */
final class CachingPatientSecretStore implements PatientSecretStore {

  private final PatientSecretStore delegate;
  private final Cache<String, byte[]> secrets;

  CachingPatientSecretStore(PatientSecretStore delegate, long maximumSize) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
    this.secrets = Caffeine.newBuilder().maximumSize(maximumSize).build();
  }

  @Override
  public byte[] secretFor(String patientReference) throws LedgerUnavailableException {
    byte[] cached = secrets.getIfPresent(patientReference);
    if (cached != null) {
      return cached.clone();
    }
    try {
      return secrets.asMap().computeIfAbsent(patientReference, ref -> {
        try {
          return delegate.secretFor(ref);
        } catch (LedgerUnavailableException e) {
          throw new Unavailable(e);
        }
      }).clone();
    } catch (Unavailable e) {
      throw e.cause;
    }
  }

  @Override
  public Optional<byte[]> existingSecret(String patientReference) throws LedgerUnavailableException {
    byte[] cached = secrets.getIfPresent(patientReference);
    return cached != null ? Optional.of(cached.clone()) : delegate.existingSecret(patientReference);
  }

  @Override
  public boolean erase(String patientReference) throws LedgerUnavailableException {
    boolean[] existed = new boolean[1];
    try {
      secrets.asMap().compute(patientReference, (ref, old) -> {
        try {
          existed[0] = delegate.erase(ref);
          return null;
        } catch (LedgerUnavailableException e) {
          throw new Unavailable(e);
        }
      });
    } catch (Unavailable e) {
      throw e.cause;
    }
    return existed[0];
  }

  /** Carries the store's checked exception through the cache's functional interfaces. */
  private static final class Unavailable extends RuntimeException {
    final LedgerUnavailableException cause;

    Unavailable(LedgerUnavailableException cause) {
      super(cause.getMessage(), cause, false, false);
      this.cause = cause;
    }
  }
}
