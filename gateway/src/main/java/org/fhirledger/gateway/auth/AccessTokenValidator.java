package org.fhirledger.gateway.auth;

/**
 * Turns a bearer access token into the {@link Caller} it speaks for. Implementations are
 * thread-safe and called on every {@code /fhir} request.
 */
interface AccessTokenValidator {

  /**
   * Validates signature, algorithm, issuer, audience and lifetime.
   *
   * @param audience the audience the token must name (the gateway's FHIR base)
   * @throws InvalidTokenException if the token is not acceptable (answer 401)
   * @throws IssuerUnavailableException if the issuer's keys cannot be fetched (answer 503)
   */
  Caller validate(String token, String audience) throws InvalidTokenException;

  /** The issuer's keys could not be fetched, so no token can be checked right now. */
  final class IssuerUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    IssuerUnavailableException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
