package org.fhirledger.gateway.auth;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * The resource server's settings ({@code gateway.security.*}).
 *
 * @param enabled whether {@code /fhir} requires a SMART access token (the open endpoints stay open);
 *     turn off only on a closed test network
 * @param issuer the token issuer ({@code iss}) to trust; empty: the embedded authorization server's,
 *     if one runs (see {@link TokenIssuerSettings}), else every {@code /fhir} request is refused
 *     with 401 saying how to configure one
 * @param jwksUri where the issuer publishes its keys; empty: {@code jwks_uri} from the issuer's
 *     {@code /.well-known/openid-configuration}
 * @param audience the {@code aud} tokens must carry; empty: {@code gateway.public-base-url}, else the
 *     FHIR base of each request
 * @param clockSkew tolerance on {@code exp} and {@code nbf}
 * @param jwksRefreshMinInterval a token signed with an unknown key makes the gateway fetch the JWK
 *     Set again (key rotation), at most twice per this interval (0: no limit; tests only); shorter
 *     than {@code jwksCacheTtl}
 * @param jwksCacheTtl how long a fetched JWK Set is used before it is fetched again
 * @param authorizationEndpoint published in the discovery document; empty: from the issuer
 * @param tokenEndpoint published in the discovery document; empty: from the issuer
 * @param introspectionEndpoint published in the discovery document; empty: from the issuer
 * @param purposeOfUseClaim the token claim that carries the purpose of use (string or array)
 * @param corsAllowedOrigins origins browser apps may call {@code /fhir} from ({@code *}: any; tokens
 *     travel in headers, never cookies, so no credentials are allowed)
 */
@ConfigurationProperties("gateway.security")
public record SecurityProperties(
    @DefaultValue("true") boolean enabled,
    URI issuer,
    URI jwksUri,
    String audience,
    @DefaultValue("60s") Duration clockSkew,
    @DefaultValue("30s") Duration jwksRefreshMinInterval,
    @DefaultValue("5m") Duration jwksCacheTtl,
    URI authorizationEndpoint,
    URI tokenEndpoint,
    URI introspectionEndpoint,
    @DefaultValue("purpose_of_use") String purposeOfUseClaim,
    @DefaultValue("*") List<String> corsAllowedOrigins) {

  public SecurityProperties {
    if (clockSkew.isNegative() || clockSkew.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException("gateway.security.clock-skew must be between 0 and 5 minutes");
    }
    if (jwksRefreshMinInterval.isNegative() || jwksRefreshMinInterval.compareTo(jwksCacheTtl) >= 0) {
      throw new IllegalArgumentException(
          "gateway.security.jwks-refresh-min-interval must be at least 0 and shorter than jwks-cache-ttl");
    }
    corsAllowedOrigins = List.copyOf(corsAllowedOrigins);
  }
}
