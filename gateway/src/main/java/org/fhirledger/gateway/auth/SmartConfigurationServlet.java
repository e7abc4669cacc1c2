package org.fhirledger.gateway.auth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * {@code GET [base]/.well-known/smart-configuration} (SMART App Launch 2.x, conformance.html):
 * always JSON whatever the client accepts, absolute URLs, open to everyone and to every origin.
 * The endpoints are the configured issuer's; while none is known the answer is 503 with an OAuth
 * style JSON error, never a document that would send apps to the wrong place. Thread-safe.
 */
final class SmartConfigurationServlet extends HttpServlet {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final transient IssuerMetadata issuer;

  SmartConfigurationServlet(IssuerMetadata issuer) {
    this.issuer = Objects.requireNonNull(issuer, "issuer");
  }

  @Override
  protected void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
    String url = request.getRequestURL().toString();
    String fhirBase = url.substring(0, url.length() - "/.well-known/smart-configuration".length());
    Optional<IssuerMetadata.Endpoints> endpoints = issuer.endpoints(fhirBase);
    ObjectNode body = JSON.createObjectNode();
    int status;
    if (endpoints.isEmpty() || endpoints.get().token().isEmpty()) {
      status = 503;
      body.put("error", "temporarily_unavailable");
      body.put("error_description", endpoints.isEmpty()
          ? "This gateway has no token issuer configured (gateway.security.issuer)."
          : "The token issuer's metadata could not be read; try again later.");
    } else {
      status = 200;
      describe(body, endpoints.get());
    }
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(body);
    response.setStatus(status);
    response.setContentType("application/json");
    response.setCharacterEncoding(StandardCharsets.UTF_8.name());
    response.setHeader("Cache-Control", status == 200 ? "public, max-age=300" : "no-store");
    response.setContentLength(bytes.length);
    response.getOutputStream().write(bytes);
  }

  static void describe(ObjectNode body, IssuerMetadata.Endpoints e) {
    body.put("issuer", e.issuer().toString());
    e.jwksUri().ifPresent(u -> body.put("jwks_uri", u.toString()));
    e.authorization().ifPresent(u -> body.put("authorization_endpoint", u.toString()));
    body.put("token_endpoint", e.token().map(URI::toString).orElseThrow());
    e.introspection().ifPresent(u -> body.put("introspection_endpoint", u.toString()));
    boolean apps = e.authorization().isPresent();
    array(body, "grant_types_supported", apps ? List.of("authorization_code", "client_credentials")
        : List.of("client_credentials"));
    array(body, "token_endpoint_auth_methods_supported", List.of("private_key_jwt"));
    array(body, "token_endpoint_auth_signing_alg_values_supported", List.of("RS384", "ES384"));
    List<String> scopes = new ArrayList<>(List.of("system/*.cruds", "system/*.rs", "user/*.cruds", "user/*.rs",
        "patient/*.cruds", "patient/*.rs", "fhirUser"));
    if (apps) {
      scopes.addAll(List.of("openid", "launch/patient", "offline_access"));
    }
    array(body, "scopes_supported", scopes);
    if (apps) {
      array(body, "response_types_supported", List.of("code"));
    }
    List<String> capabilities = new ArrayList<>(List.of("client-confidential-asymmetric", "permission-v1",
        "permission-v2", "permission-patient", "permission-user"));
    if (apps) {
      capabilities.addAll(0, List.of("launch-standalone", "client-public", "context-standalone-patient"));
    }
    array(body, "capabilities", capabilities);
    array(body, "code_challenge_methods_supported", List.of("S256"));
  }

  private static void array(ObjectNode body, String name, List<String> values) {
    ArrayNode a = body.putArray(name);
    values.forEach(a::add);
  }
}
