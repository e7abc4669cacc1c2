package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.SecurityContext;
import java.net.URI;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.gateway.auth.TokenIssuerSettings;

/**
 * The embedded authorization server offered to the resource server as its default issuer. With
 * {@code gateway.public-base-url} set, the issuer is fixed; without it, the embedded server names itself after the
 * address each client used (Spring Authorization Server's behaviour), and so does this view: {@link #at} gives the
 * issuer for clients that reach the gateway at a FHIR base. Its keys are checked in-process.
 */
final class EmbeddedTokenIssuerSettings implements TokenIssuerSettings {

  private final EmbeddedIssuer embedded;
  private final URI issuer;

  EmbeddedTokenIssuerSettings(EmbeddedIssuer embedded) {
    this(embedded, embedded.configuredIssuer().orElse(null));
  }

  private EmbeddedTokenIssuerSettings(EmbeddedIssuer embedded, URI issuer) {
    this.embedded = Objects.requireNonNull(embedded, "embedded");
    this.issuer = issuer;
  }

  @Override
  public TokenIssuerSettings at(String fhirBase) {
    if (issuer != null) {
      return this;
    }
    String base = fhirBase.endsWith("/") ? fhirBase.substring(0, fhirBase.length() - 1) : fhirBase;
    if (base.endsWith("/fhir")) {
      base = base.substring(0, base.length() - "/fhir".length());
    }
    return new EmbeddedTokenIssuerSettings(embedded, URI.create(base));
  }

  @Override
  public URI issuer() {
    if (issuer == null) {
      throw new IllegalStateException("the embedded issuer follows each request's address: ask at(fhirBase)");
    }
    return issuer;
  }

  @Override
  public URI jwksUri() {
    return EmbeddedIssuer.jwksUri(issuer());
  }

  @Override
  public Optional<URI> authorizationEndpoint() {
    return Optional.of(endpoint("/oauth2/authorize"));
  }

  @Override
  public Optional<URI> tokenEndpoint() {
    return Optional.of(endpoint("/oauth2/token"));
  }

  @Override
  public Optional<URI> introspectionEndpoint() {
    return Optional.of(endpoint("/oauth2/introspect"));
  }

  @Override
  public Optional<JWKSource<SecurityContext>> keys() {
    return Optional.of(embedded.publicKeys());
  }

  private URI endpoint(String path) {
    String base = issuer().toString();
    return URI.create((base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + path);
  }
}
