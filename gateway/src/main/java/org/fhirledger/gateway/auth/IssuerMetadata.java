package org.fhirledger.gateway.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Where the trusted token issuer and its endpoints are: from {@code gateway.security.*} first, then
 * from the embedded authorization server's {@link TokenIssuerSettings}, then from the issuer's own
 * metadata ({@code /.well-known/openid-configuration}, else {@code /.well-known/oauth-authorization-server}),
 * fetched on first need and kept once it was read (a failed fetch is retried after 10 s at the
 * earliest). Thread-safe.
 */
final class IssuerMetadata {

  /** The endpoints the discovery document and the CapabilityStatement publish; absent ones are unknown. */
  record Endpoints(URI issuer, Optional<URI> jwksUri, Optional<URI> authorization, Optional<URI> token,
      Optional<URI> introspection) {}

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration RETRY_AFTER = Duration.ofSeconds(10);

  private final SecurityProperties properties;
  private final Optional<TokenIssuerSettings> embedded;
  private final HttpClient http;
  private final Clock clock;
  private volatile JsonNode discovered;
  private volatile Instant lastFailure = Instant.MIN;

  IssuerMetadata(SecurityProperties properties, Optional<TokenIssuerSettings> embedded, HttpClient http,
      Clock clock) {
    this.properties = Objects.requireNonNull(properties, "properties");
    this.embedded = Objects.requireNonNull(embedded, "embedded");
    this.http = Objects.requireNonNull(http, "http");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The issuer to trust, if any is configured or embedded (a fixed one; see {@link #issuer(String)}). */
  Optional<URI> issuer() {
    if (properties.issuer() != null) {
      return Optional.of(properties.issuer());
    }
    try {
      return embedded.map(TokenIssuerSettings::issuer);
    } catch (IllegalStateException followsRequests) {
      // The embedded issuer has no fixed name without gateway.public-base-url: see issuer(String).
      return Optional.empty();
    }
  }

  /** The issuer to trust for requests to {@code fhirBase}. */
  Optional<URI> issuer(String fhirBase) {
    if (properties.issuer() != null) {
      return Optional.of(properties.issuer());
    }
    return embedded.map(e -> e.at(fhirBase).issuer());
  }

  /** The embedded issuer, when it is the one trusted (no {@code gateway.security.issuer}). */
  Optional<TokenIssuerSettings> trustedEmbedded() {
    return properties.issuer() == null ? embedded : Optional.empty();
  }

  /** The endpoints for clients that reach the gateway at {@code fhirBase}. */
  Optional<Endpoints> endpoints(String fhirBase) {
    Optional<TokenIssuerSettings> local = trustedEmbedded();
    if (local.isEmpty()) {
      return endpoints();
    }
    TokenIssuerSettings at = local.get().at(fhirBase);
    return Optional.of(new Endpoints(at.issuer(),
        Optional.ofNullable(properties.jwksUri()).or(() -> Optional.of(at.jwksUri())),
        Optional.ofNullable(properties.authorizationEndpoint()).or(at::authorizationEndpoint),
        Optional.ofNullable(properties.tokenEndpoint()).or(at::tokenEndpoint),
        Optional.ofNullable(properties.introspectionEndpoint()).or(at::introspectionEndpoint)));
  }

  /**
   * @throws AccessTokenValidator.IssuerUnavailableException if no JWK Set URL is configured and the
   *     issuer's metadata cannot be read
   */
  URI jwksUri() {
    if (properties.jwksUri() != null) {
      return properties.jwksUri();
    }
    if (properties.issuer() == null && embedded.isPresent()) {
      return embedded.get().jwksUri();
    }
    return discovered("jwks_uri").orElseThrow(() -> new AccessTokenValidator.IssuerUnavailableException(
        "The issuer's metadata names no jwks_uri; set gateway.security.jwks-uri", null));
  }

  /** The endpoints as far as they are known now; empty when no issuer is configured. */
  Optional<Endpoints> endpoints() {
    Optional<URI> issuer = issuer();
    if (issuer.isEmpty()) {
      return Optional.empty();
    }
    boolean useEmbedded = properties.issuer() == null && embedded.isPresent();
    Optional<URI> jwks = properties.jwksUri() != null ? Optional.of(properties.jwksUri())
        : useEmbedded ? Optional.of(embedded.get().jwksUri()) : discoveredQuietly("jwks_uri");
    return Optional.of(new Endpoints(issuer.get(), jwks,
        endpoint(properties.authorizationEndpoint(), useEmbedded, TokenIssuerSettings::authorizationEndpoint,
            "authorization_endpoint"),
        endpoint(properties.tokenEndpoint(), useEmbedded, TokenIssuerSettings::tokenEndpoint, "token_endpoint"),
        endpoint(properties.introspectionEndpoint(), useEmbedded, TokenIssuerSettings::introspectionEndpoint,
            "introspection_endpoint")));
  }

  private Optional<URI> endpoint(URI configured, boolean useEmbedded,
      java.util.function.Function<TokenIssuerSettings, Optional<URI>> fromEmbedded, String metadataName) {
    if (configured != null) {
      return Optional.of(configured);
    }
    if (useEmbedded) {
      return fromEmbedded.apply(embedded.get());
    }
    return discoveredQuietly(metadataName);
  }

  private Optional<URI> discoveredQuietly(String name) {
    try {
      return discovered(name);
    } catch (AccessTokenValidator.IssuerUnavailableException e) {
      return Optional.empty();
    }
  }

  private Optional<URI> discovered(String name) {
    JsonNode doc = discovered;
    if (doc == null) {
      doc = fetch();
    }
    JsonNode value = doc.get(name);
    if (value == null || !value.isTextual()) {
      return Optional.empty();
    }
    try {
      URI uri = URI.create(value.asText());
      return uri.isAbsolute() ? Optional.of(uri) : Optional.empty();
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  private synchronized JsonNode fetch() {
    if (discovered != null) {
      return discovered;
    }
    URI issuer = issuer().orElseThrow(() -> new AccessTokenValidator.IssuerUnavailableException(
        "No token issuer is configured", null));
    if (clock.instant().isBefore(lastFailure.plus(RETRY_AFTER))) {
      throw new AccessTokenValidator.IssuerUnavailableException("The issuer's metadata was unavailable moments ago",
          null);
    }
    String base = issuer.toString().endsWith("/") ? issuer.toString().substring(0, issuer.toString().length() - 1)
        : issuer.toString();
    Exception last = null;
    for (String path : new String[] {"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"}) {
      try {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + path))
            .timeout(Duration.ofSeconds(5)).header("Accept", "application/json").build(),
            HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() == 200) {
          JsonNode doc = JSON.readTree(r.body());
          if (doc.isObject() && issuer.toString().equals(doc.path("issuer").asText())) {
            discovered = doc;
            return doc;
          }
        }
      } catch (IOException e) {
        last = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        last = e;
        break;
      }
    }
    lastFailure = clock.instant();
    throw new AccessTokenValidator.IssuerUnavailableException("The issuer's metadata could not be read", last);
  }
}
