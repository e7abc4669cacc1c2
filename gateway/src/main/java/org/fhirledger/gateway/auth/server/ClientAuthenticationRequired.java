package org.fhirledger.gateway.auth.server;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.springframework.security.core.AuthenticationException;

/**
 * The answer to a token, introspection or revocation request that carries no client
 * authentication at all: 401 {@code invalid_client} as RFC 6749 section 5.2 says, in JSON, rather
 * than a login page or an empty 401.
 */
final class ClientAuthenticationRequired {

  private ClientAuthenticationRequired() {}

  static void send(HttpServletRequest request, HttpServletResponse response, AuthenticationException cause) throws IOException {
    response.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
    response.setHeader("Cache-Control", "no-store");
    response.setContentType("application/json;charset=UTF-8");
    response.getOutputStream().write(("{\"error\":\"invalid_client\",\"error_description\":"
        + "\"client authentication is required (private_key_jwt client assertion, client_secret_basic, or client_id with code_verifier for public clients)\"}")
        .getBytes(StandardCharsets.UTF_8));
  }
}
