package org.fhirledger.gateway.auth.server;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * A person who may log in to the embedded authorization server (for the authorization code flow).
 *
 * @param username the login name
 * @param passwordHash the bcrypt hash of the password ({@code $2a$}, {@code $2b$} or {@code $2y$}); never the password
 * @param fhirUser the FHIR resource that is this user (e.g. {@code Practitioner/123}), put in the
 *     {@code fhirUser} claim when the app asks for it; may be null
 */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record SmartUser(String username, String passwordHash, String fhirUser) {
  public SmartUser {
    if (username == null || !username.matches("[A-Za-z0-9._@-]{1,128}")) {
      throw new IllegalArgumentException("user name must be 1-128 letters, digits or . _ @ -");
    }
    if (passwordHash == null || !passwordHash.matches("\\$2[aby]\\$\\d\\d\\$.{53}")) {
      throw new IllegalArgumentException("user '" + username + "': passwordHash must be a bcrypt hash");
    }
  }
}
