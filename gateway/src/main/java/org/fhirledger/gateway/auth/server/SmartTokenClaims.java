package org.fhirledger.gateway.auth.server;

import java.net.URI;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.endpoint.OAuth2AuthorizationRequest;
import org.springframework.security.oauth2.core.oidc.endpoint.OidcParameterNames;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.JwtClaimsSet;
import org.springframework.security.oauth2.server.authorization.OAuth2Authorization;
import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;
import org.springframework.security.oauth2.server.authorization.token.JwtEncodingContext;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenCustomizer;

/**
 * Turns Spring Authorization Server's tokens into SMART ones. Access tokens: signed RS384,
 * {@code aud} the gateway's FHIR base, {@code scope} one space-separated string, {@code client_id},
 * {@code patient} when the user picked one for a {@code launch/patient} request, {@code fhirUser}
 * when the user (or a backend client) has one. ID tokens: {@code fhirUser} when the app asked for
 * the {@code fhirUser} scope. Thread-safe.
 */
final class SmartTokenClaims implements OAuth2TokenCustomizer<JwtEncodingContext> {

  static final String PATIENT = "patient";
  static final String FHIR_USER = "fhirUser";
  static final String LAUNCH_PATIENT = "launch/patient";

  private final SmartClientRegistry registry;

  SmartTokenClaims(SmartClientRegistry registry) {
    this.registry = Objects.requireNonNull(registry, "registry");
  }

  @Override
  public void customize(JwtEncodingContext context) {
    URI issuer = URI.create(context.getAuthorizationServerContext().getIssuer());
    String fhirBase = EmbeddedIssuer.audience(issuer);
    Set<String> scopes = context.getAuthorizedScopes();
    JwtClaimsSet.Builder claims = context.getClaims();
    Optional<String> fhirUser = fhirUser(context).map(ref -> absolute(fhirBase, ref));
    if (OAuth2TokenType.ACCESS_TOKEN.equals(context.getTokenType())) {
      context.getJwsHeader().algorithm(SignatureAlgorithm.RS384);
      claims.audience(List.of(fhirBase));
      claims.claim("scope", String.join(" ", scopes));
      claims.claim("client_id", context.getRegisteredClient().getClientId());
      if (scopes.contains(LAUNCH_PATIENT)) {
        patient(context.getAuthorization()).ifPresent(p -> claims.claim(PATIENT, p));
      }
      fhirUser.ifPresent(u -> claims.claim(FHIR_USER, u));
    } else if (OidcParameterNames.ID_TOKEN.equals(context.getTokenType().getValue()) && scopes.contains(FHIR_USER)) {
      fhirUser.ifPresent(u -> claims.claim(FHIR_USER, u));
    }
  }

  /** The patient chosen in the picker for this authorization, if any. */
  static Optional<String> patient(OAuth2Authorization authorization) {
    if (authorization == null) {
      return Optional.empty();
    }
    OAuth2AuthorizationRequest request = authorization.getAttribute(OAuth2AuthorizationRequest.class.getName());
    if (request == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(request.getAdditionalParameters().get(PatientLaunchFilter.PATIENT_PARAMETER)).map(Object::toString);
  }

  private Optional<String> fhirUser(JwtEncodingContext context) {
    if (AuthorizationGrantType.CLIENT_CREDENTIALS.equals(context.getAuthorizationGrantType())) {
      return registry.client(context.getRegisteredClient().getClientId()).map(SmartClient::fhirUser);
    }
    return registry.user(context.getPrincipal().getName()).map(SmartUser::fhirUser);
  }

  private static String absolute(String fhirBase, String reference) {
    return reference.startsWith("http://") || reference.startsWith("https://") ? reference : fhirBase + "/" + reference;
  }
}
