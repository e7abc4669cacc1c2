package org.fhirledger.gateway.auth.server;

import com.nimbusds.jwt.SignedJWT;
import jakarta.servlet.http.HttpServletRequest;
import java.text.ParseException;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.springframework.security.core.Authentication;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.core.OAuth2AuthenticationException;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2ClientAuthenticationToken;
import org.springframework.security.web.authentication.AuthenticationConverter;

/**
 * Reads a {@code private_key_jwt} client authentication from a request (RFC 7523 section 2.2).
 * Unlike Spring Authorization Server's converter it does not require {@code client_id}, which
 * SMART Backend Services clients do not send: the client is then the assertion's {@code sub}
 * (unverified here; {@link ClientAssertionDecoders} checks it equals {@code iss} and the signature).
 * A {@code client_assertion_type} other than JWT bearer is {@code invalid_client}. Stateless.
 */
final class ClientAssertionConverter implements AuthenticationConverter {

  static final String JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
  private static final Set<String> OWN = Set.of("client_assertion_type", "client_assertion", "client_id");

  @Override
  public Authentication convert(HttpServletRequest request) {
    String type = single(request, "client_assertion_type");
    String assertion = single(request, "client_assertion");
    if (type == null && assertion == null) {
      return null;
    }
    if (!JWT_BEARER.equals(type)) {
      throw error(OAuth2ErrorCodes.INVALID_CLIENT, "client_assertion_type must be " + JWT_BEARER);
    }
    if (assertion == null) {
      throw error(OAuth2ErrorCodes.INVALID_CLIENT, "client_assertion is missing");
    }
    String clientId = single(request, "client_id");
    if (clientId == null) {
      try {
        clientId = SignedJWT.parse(assertion).getJWTClaimsSet().getSubject();
      } catch (ParseException e) {
        throw error(OAuth2ErrorCodes.INVALID_CLIENT, "client_assertion is not a signed JWT");
      }
      if (clientId == null || clientId.isBlank()) {
        throw error(OAuth2ErrorCodes.INVALID_CLIENT, "client_assertion has no sub");
      }
    }
    Map<String, Object> additional = new HashMap<>();
    request.getParameterMap().forEach((name, values) -> {
      if (!OWN.contains(name) && values.length > 0) {
        additional.put(name, values.length == 1 ? values[0] : values);
      }
    });
    return new OAuth2ClientAuthenticationToken(clientId, new ClientAuthenticationMethod(JWT_BEARER), assertion, additional);
  }

  private static String single(HttpServletRequest request, String name) {
    String[] values = request.getParameterValues(name);
    if (values == null) {
      return null;
    }
    if (values.length != 1) {
      throw error(OAuth2ErrorCodes.INVALID_REQUEST, name + " must appear once");
    }
    return values[0];
  }

  private static OAuth2AuthenticationException error(String code, String description) {
    return new OAuth2AuthenticationException(new OAuth2Error(code, description, null));
  }
}
