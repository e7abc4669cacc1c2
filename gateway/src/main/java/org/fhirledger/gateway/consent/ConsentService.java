package org.fhirledger.gateway.consent;

/**
 * Decides, from the patient's Consents and the deployment's policy, whether a request may touch the patient's data.
 *
 * <p>Implementations are thread-safe, do no I/O in {@link #decide}, and fail closed: when they cannot know the
 * patient's current Consents (for example the index is not in sync with the EHR) they deny.
 */
public interface ConsentService {

  /** The decision for {@code request}, never null. */
  ConsentDecision decide(ConsentRequest request);
}
