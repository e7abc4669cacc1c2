package org.fhirledger.gateway.auth;

import ca.uhn.fhir.rest.server.exceptions.AuthenticationException;

/** RFC 6750 {@code WWW-Authenticate: Bearer ...} challenges on HAPI's 401 exceptions. */
final class BearerChallenge {
  private BearerChallenge() {}

  static final String REALM = "fhir";

  /** 401 for a request without a bearer token: a challenge without an error code (RFC 6750 section 3.1). */
  static AuthenticationException missing(String message) {
    AuthenticationException e = new AuthenticationException(message);
    e.addResponseHeader("WWW-Authenticate", "Bearer realm=\"" + REALM + "\"");
    return e;
  }

  /** 401 for a token the gateway does not accept. */
  static AuthenticationException invalid(String errorCode, String message) {
    AuthenticationException e = new AuthenticationException(message);
    e.addResponseHeader("WWW-Authenticate", "Bearer realm=\"" + REALM + "\", error=\"" + errorCode
        + "\", error_description=\"" + quoteSafe(message) + "\"");
    return e;
  }

  /** The text with what may not appear in a quoted-string parameter replaced. */
  static String quoteSafe(String text) {
    return text.replaceAll("[\"\\\\\\p{Cntrl}]", "'").replaceAll("[^\\x20-\\x7E]", "?");
  }
}
