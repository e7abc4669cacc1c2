package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;
import org.springframework.web.util.UriComponentsBuilder;

/**
 * The embedded authorization server as the resource server sees it: who issues its tokens and
 * with which keys. The issuer is the gateway's own base URL: {@code gateway.public-base-url} without
 * its {@code /fhir} suffix when that is set, else the scheme, host and port of each request (the
 * authorization server then names itself after the address it was reached at). Access tokens carry
 * {@code aud} = {@code <issuer>/fhir}. Immutable and thread-safe.
 */
public final class EmbeddedIssuer {

  /** Path of the JWK Set endpoint, relative to the issuer. */
  public static final String JWKS_PATH = "/oauth2/jwks";

  private final URI configuredIssuer;
  private final JWKSet signingKeys;

  EmbeddedIssuer(URI publicFhirBase, JWKSet signingKeys) {
    this.configuredIssuer = publicFhirBase == null ? null : issuerFromFhirBase(publicFhirBase);
    this.signingKeys = Objects.requireNonNull(signingKeys, "signingKeys");
  }

  /** The issuer when {@code gateway.public-base-url} fixes it; empty when it follows each request. */
  public Optional<URI> configuredIssuer() {
    return Optional.ofNullable(configuredIssuer);
  }

  /** The issuer as a client reaching the gateway through {@code request} sees it. */
  public URI issuer(HttpServletRequest request) {
    if (configuredIssuer != null) {
      return configuredIssuer;
    }
    return URI.create(UriComponentsBuilder.fromUriString(request.getRequestURL().toString())
        .replacePath(request.getContextPath()).replaceQuery(null).fragment(null).build().toUriString());
  }

  /** The JWK Set URL of {@code issuer}. */
  public static URI jwksUri(URI issuer) {
    return URI.create(stripSlash(issuer.toString()) + JWKS_PATH);
  }

  /** The audience of access tokens this issuer signs: the gateway's FHIR base. */
  public static String audience(URI issuer) {
    return stripSlash(issuer.toString()) + "/fhir";
  }

  /** The public signing keys, for validating tokens in-process without fetching the JWK Set. */
  public JWKSource<SecurityContext> publicKeys() {
    return new ImmutableJWKSet<>(signingKeys.toPublicJWKSet());
  }

  /** The private signing keys; for the token encoder only. */
  JWKSource<SecurityContext> signingKeys() {
    return new ImmutableJWKSet<>(signingKeys);
  }

  static URI issuerFromFhirBase(URI fhirBase) {
    String base = stripSlash(fhirBase.toString());
    if (base.endsWith("/fhir")) {
      base = base.substring(0, base.length() - "/fhir".length());
    }
    return URI.create(base);
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }
}
