package org.fhirledger.ledger.entry;

import java.util.Objects;

/**
 * Who acted: the OAuth client, and where known the user reference and organization (for example
 * {@code Practitioner/123}, {@code Organization/hospital-a}). Identifiers of staff, not patients.
 *
 * @param clientId the client id, non-empty
 * @param user the user reference, or null
 * @param organization the organization reference, or null
 */
public record Actor(String clientId, String user, String organization) {
  public Actor {
    Objects.requireNonNull(clientId, "clientId");
    if (clientId.isEmpty()) {
      throw new IllegalArgumentException("clientId must not be empty");
    }
  }
}
