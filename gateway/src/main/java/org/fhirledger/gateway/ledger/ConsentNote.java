package org.fhirledger.gateway.ledger;

import java.util.Objects;
import java.util.Optional;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import org.fhirledger.ledger.entry.ConsentDecision;

/**
 * The consent outcome of one request, as its ledger entries record it ({@code consentDecision} and
 * {@code consentReference}). Put into the request's user data by the consent enforcer (issue #6) and read by
 * {@link InteractionRecorder} for every entry of the request; absent when consent is off or the request touched no
 * patient's data.
 *
 * @param decision permit, deny, permit-filtered or break-glass
 * @param reference the Consent versions the decision rested on, space separated, or null
 */
public record ConsentNote(ConsentDecision decision, String reference) {

  private static final String KEY = ConsentNote.class.getName();
  private static final String ENTRIES_KEY = ConsentNote.class.getName() + ".entries";

  public ConsentNote {
    Objects.requireNonNull(decision, "decision");
  }

  /** Sets (or replaces) the request's note. */
  public void attachTo(RequestDetails request) {
    request.getUserData().put(KEY, this);
  }

  public static Optional<ConsentNote> of(RequestDetails request) {
    return Optional.ofNullable((ConsentNote) request.getUserData().get(KEY));
  }

  /**
   * Sets the note of one entry of a batch (by its position in the request), for an entry decided on its own (a refused
   * entry of a batch whose other entries were forwarded); the other entries keep the request's note.
   */
  public void attachToEntry(RequestDetails request, int index) {
    @SuppressWarnings("unchecked")
    java.util.Map<Integer, ConsentNote> entries = (java.util.Map<Integer, ConsentNote>) request.getUserData()
        .computeIfAbsent(ENTRIES_KEY, k -> new java.util.HashMap<Integer, ConsentNote>());
    entries.put(index, this);
  }

  /** The note of a batch or transaction entry: its own if it has one, else the request's. */
  public static Optional<ConsentNote> ofEntry(RequestDetails request, int index) {
    if (request.getUserData().get(ENTRIES_KEY) instanceof java.util.Map<?, ?> entries
        && entries.get(index) instanceof ConsentNote own) {
      return Optional.of(own);
    }
    return of(request);
  }
}
