package org.fhirledger.gateway.auth;

import java.net.URI;
import java.util.Optional;

/**
 * The seam through which an authorization server that runs inside the gateway (the embedded one)
 * offers itself as the default token issuer: when a bean of this type exists and
 * {@code gateway.security.issuer} is not set, the resource server trusts the tokens this issuer
 * signs with the keys at {@link #jwksUri()}, and the SMART discovery document names its endpoints.
 * An external issuer set by configuration always wins. Implementations must be immutable.
 */
public interface TokenIssuerSettings {

  /** The issuer identifier: the exact {@code iss} of its tokens. */
  URI issuer();

  /** Where its signing keys are published (a JWK Set). */
  URI jwksUri();

  /** Its authorization endpoint, if it has one (authorization code + PKCE). */
  default Optional<URI> authorizationEndpoint() {
    return Optional.empty();
  }

  /** Its token endpoint. */
  default Optional<URI> tokenEndpoint() {
    return Optional.empty();
  }

  /** Its token introspection endpoint (RFC 7662), if any. */
  default Optional<URI> introspectionEndpoint() {
    return Optional.empty();
  }

  /**
   * This issuer as clients that reach the gateway at {@code fhirBase} see it. An issuer without a fixed public URL
   * (the embedded one when {@code gateway.public-base-url} is unset) is named after the address each client used,
   * just as the audience is; a fixed one returns itself.
   */
  default TokenIssuerSettings at(String fhirBase) {
    return this;
  }

  /** Its public signing keys in-process, when it runs inside the gateway (no JWK Set fetch needed). */
  default Optional<com.nimbusds.jose.jwk.source.JWKSource<com.nimbusds.jose.proc.SecurityContext>> keys() {
    return Optional.empty();
  }
}
