package org.fhirledger.gateway.auth;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * Who is asking, from a validated access token: what the ledger records for every interaction and
 * what authorization (and, later, consent) decides on. One per request, immutable; find it with
 * {@link #of(RequestDetails)} (absent when security is off, or for the open endpoints).
 *
 * @param clientId the OAuth client ({@code client_id}, else {@code azp}, else {@code sub}), non-empty
 * @param fhirUser the user's FHIR reference ({@code fhirUser} claim, for example
 *     {@code Practitioner/7}), or null for a backend system
 * @param patient the logical id of the patient in the launch context ({@code patient} claim), or null
 * @param scopes the SMART resource scopes the token grants (other scopes are not kept)
 * @param grantedScopes every scope string of the token, as issued
 * @param purposeOfUse the purpose of use code from the token (for example {@code TREAT}), or null
 * @param organization the caller's organization reference, or null
 */
public record Caller(String clientId, String fhirUser, String patient, List<SmartScope> scopes,
    Set<String> grantedScopes, String purposeOfUse, String organization) {

  static final String KEY = Caller.class.getName();

  public Caller {
    Objects.requireNonNull(clientId, "clientId");
    if (clientId.isEmpty()) {
      throw new IllegalArgumentException("clientId must not be empty");
    }
    scopes = List.copyOf(scopes);
    grantedScopes = Set.copyOf(grantedScopes);
  }

  /** The caller of this request, once the token has been validated. */
  public static Optional<Caller> of(RequestDetails request) {
    return Optional.ofNullable((Caller) request.getUserData().get(KEY));
  }

  void attachTo(RequestDetails request) {
    request.getUserData().put(KEY, this);
  }

  /** {@code Patient/<id>} of the patient in context, or null. */
  public String patientReference() {
    return patient == null ? null : "Patient/" + patient;
  }
}
