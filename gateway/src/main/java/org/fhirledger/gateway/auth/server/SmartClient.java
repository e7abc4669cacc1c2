package org.fhirledger.gateway.auth.server;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One client of the embedded authorization server, as written in the clients file.
 *
 * @param clientId the OAuth {@code client_id}; letters, digits and {@code . _ - :} only
 * @param name a display name (shown to users, written in logs)
 * @param scopes the scopes the client may be granted (SMART v1 or v2 strings, e.g. {@code system/*.rs});
 *     a request may ask for any scope one of these covers
 * @param grantTypes {@code client_credentials} and/or {@code authorization_code}
 * @param redirectUris where an authorization code may be sent (authorization code clients only)
 * @param jwks the client's public keys by value (a JWK Set as JSON), for {@code private_key_jwt}
 * @param jwksUri where the client publishes its JWK Set, for {@code private_key_jwt}
 * @param tokenEndpointAuthMethod {@code private_key_jwt}, {@code client_secret_basic} or {@code none} (public app)
 * @param clientSecretHash the bcrypt hash of the client secret, for {@code client_secret_basic}
 * @param organization the organization the client acts for (a FHIR reference, e.g. {@code Organization/lab-1}),
 *     recorded as the ledger actor's organization; may be null
 * @param fhirUser the FHIR user a backend client acts as (e.g. {@code Device/analyzer-7}); may be null
 */
@JsonIgnoreProperties(ignoreUnknown = false)
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record SmartClient(
    String clientId,
    String name,
    List<String> scopes,
    List<String> grantTypes,
    List<String> redirectUris,
    Map<String, Object> jwks,
    URI jwksUri,
    String tokenEndpointAuthMethod,
    String clientSecretHash,
    String organization,
    String fhirUser) {

  static final String CLIENT_CREDENTIALS = "client_credentials";
  static final String AUTHORIZATION_CODE = "authorization_code";
  static final String PRIVATE_KEY_JWT = "private_key_jwt";
  static final String CLIENT_SECRET_BASIC = "client_secret_basic";
  static final String NONE = "none";

  private static final Set<String> GRANT_TYPES = Set.of(CLIENT_CREDENTIALS, AUTHORIZATION_CODE);
  private static final Set<String> AUTH_METHODS = Set.of(PRIVATE_KEY_JWT, CLIENT_SECRET_BASIC, NONE);

  public SmartClient {
    if (clientId == null || !clientId.matches("[A-Za-z0-9._:-]{1,128}")) {
      throw new IllegalArgumentException(
          "clientId must be 1-128 letters, digits or . _ - : (got " + (clientId == null ? "none" : "'" + clientId + "'") + ")");
    }
    String where = "client '" + clientId + "': ";
    name = name == null || name.isBlank() ? clientId : name;
    scopes = List.copyOf(Objects.requireNonNullElse(scopes, List.of()));
    if (scopes.isEmpty()) {
      throw new IllegalArgumentException(where + "scopes must list at least one scope");
    }
    for (String scope : scopes) {
      if (!scope.matches("[\\x21\\x23-\\x5B\\x5D-\\x7E]+")) {
        throw new IllegalArgumentException(where + "scope '" + scope + "' has characters RFC 6749 does not allow");
      }
    }
    grantTypes = List.copyOf(Objects.requireNonNullElse(grantTypes, List.of(CLIENT_CREDENTIALS)));
    if (grantTypes.isEmpty() || !GRANT_TYPES.containsAll(grantTypes)) {
      throw new IllegalArgumentException(where + "grantTypes must be among " + GRANT_TYPES);
    }
    redirectUris = List.copyOf(Objects.requireNonNullElse(redirectUris, List.of()));
    jwks = jwks == null ? null : Map.copyOf(jwks);
    tokenEndpointAuthMethod = tokenEndpointAuthMethod == null ? PRIVATE_KEY_JWT : tokenEndpointAuthMethod;
    if (!AUTH_METHODS.contains(tokenEndpointAuthMethod)) {
      throw new IllegalArgumentException(where + "tokenEndpointAuthMethod must be one of " + AUTH_METHODS);
    }
    if (tokenEndpointAuthMethod.equals(PRIVATE_KEY_JWT) && (jwks == null) == (jwksUri == null)) {
      throw new IllegalArgumentException(where + "private_key_jwt needs exactly one of jwks (by value) or jwksUri");
    }
    if (tokenEndpointAuthMethod.equals(CLIENT_SECRET_BASIC) && (clientSecretHash == null || !clientSecretHash.startsWith("$2"))) {
      throw new IllegalArgumentException(where + "client_secret_basic needs clientSecretHash, a bcrypt hash ($2a$/$2b$/$2y$)");
    }
    if (grantTypes.contains(CLIENT_CREDENTIALS) && tokenEndpointAuthMethod.equals(NONE)) {
      throw new IllegalArgumentException(where + "client_credentials needs a confidential client (private_key_jwt)");
    }
    if (grantTypes.contains(AUTHORIZATION_CODE) && redirectUris.isEmpty()) {
      throw new IllegalArgumentException(where + "authorization_code needs at least one redirectUri");
    }
  }

  boolean publicClient() {
    return tokenEndpointAuthMethod.equals(NONE);
  }
}
