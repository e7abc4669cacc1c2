package org.fhirledger.gateway.auth;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SMART resource server in front of every {@code /fhir} interaction: authenticates the bearer
 * token, attaches the {@link Caller} to the request (HAPI user data and servlet attribute
 * {@code org.fhirledger.gateway.auth.Caller}), and authorizes the interaction with {@link
 * RequestAuthorizer} before anything is forwarded or served. The CapabilityStatement
 * ({@code /metadata}) stays open.
 *
 * <p>Refusals are HAPI exceptions, so they become OperationOutcomes in the client's format and are
 * recorded on the ledger like every other failed interaction: 401 with an RFC 6750 challenge for a
 * missing or unacceptable token, 403 ({@code insufficient_scope}) for scopes that do not allow the
 * interaction, 503 when the issuer's keys cannot be fetched. It runs before every other
 * interceptor of the same pointcut. Thread-safe.
 */
@Interceptor
public final class SmartAuthorizationInterceptor {

  private static final Logger log = LoggerFactory.getLogger(SmartAuthorizationInterceptor.class);
  private static final String BEARER = "bearer ";

  private final Supplier<Optional<AccessTokenValidator>> validator;
  private final RequestAuthorizer authorizer;
  private final URI audience;

  /**
   * @param validator empty while no issuer is configured: every request is then refused with 401
   * @param audience the audience tokens must carry, or null to use each request's FHIR base
   */
  SmartAuthorizationInterceptor(Supplier<Optional<AccessTokenValidator>> validator, RequestAuthorizer authorizer,
      URI audience) {
    this.validator = Objects.requireNonNull(validator, "validator");
    this.authorizer = Objects.requireNonNull(authorizer, "authorizer");
    this.audience = audience;
  }

  @Hook(value = Pointcut.SERVER_INCOMING_REQUEST_POST_PROCESSED, order = -1000)
  public boolean authorize(RequestDetails request, HttpServletRequest servlet) {
    RestOperationTypeEnum operation = request.getRestOperationType();
    if (operation == RestOperationTypeEnum.METADATA) {
      return true;
    }
    Caller caller = authenticate(request);
    caller.attachTo(request);
    servlet.setAttribute(Caller.KEY, caller);
    authorizer.authorize(request, operation, caller);
    return true;
  }

  private Caller authenticate(RequestDetails request) {
    AccessTokenValidator tokens = validator.get().orElseThrow(() -> BearerChallenge.missing(
        "This gateway has no token issuer configured, so it accepts no request. Operators: set "
            + "gateway.security.issuer (and gateway.security.jwks-uri unless the issuer publishes "
            + "/.well-known/openid-configuration), or run the embedded authorization server; "
            + "gateway.security.enabled=false turns authentication off on a closed test network."));
    String header = request.getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
      throw BearerChallenge.missing("This request needs a SMART on FHIR access token: send "
          + "'Authorization: Bearer <token>'. Where to get one: " + request.getFhirServerBase()
          + "/.well-known/smart-configuration");
    }
    String token = header.substring(BEARER.length()).trim();
    if (token.isEmpty() || token.contains(" ")) {
      throw BearerChallenge.invalid("invalid_request", "The Authorization header must be 'Bearer <token>'.");
    }
    String expected = audience != null ? audience.toString() : request.getFhirServerBase();
    try {
      return tokens.validate(token, expected);
    } catch (InvalidTokenException e) {
      throw BearerChallenge.invalid(e.errorCode(), e.getMessage());
    } catch (AccessTokenValidator.IssuerUnavailableException e) {
      log.warn("Token issuer keys unavailable: {}", e.getCause() == null ? e.getMessage()
          : e.getCause().getClass().getSimpleName());
      throw new UnclassifiedServerFailureException(503, "The gateway could not fetch its token issuer's keys, so "
          + "it cannot check access tokens right now. Try again later.");
    }
  }
}
