package org.fhirledger.gateway.auth;

/**
 * An access token the gateway does not accept. The message says why in words a client developer can
 * act on, and never repeats the token or its claims' values.
 */
final class InvalidTokenException extends Exception {
  private static final long serialVersionUID = 1L;

  /** RFC 6750 section 3.1 error code: {@code invalid_request} or {@code invalid_token}. */
  private final String errorCode;

  InvalidTokenException(String errorCode, String message) {
    super(message);
    this.errorCode = errorCode;
  }

  String errorCode() {
    return errorCode;
  }
}
