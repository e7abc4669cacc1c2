package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.source.ImmutableJWKSet;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.jwk.source.JWKSourceBuilder;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import java.net.MalformedURLException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtDecoderFactory;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.server.authorization.client.RegisteredClient;
import org.springframework.security.oauth2.server.authorization.context.AuthorizationServerContext;
import org.springframework.security.oauth2.server.authorization.context.AuthorizationServerContextHolder;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;

/**
 * Decodes and checks the client assertions of {@code private_key_jwt} clients (RFC 7523, SMART
 * Backend Services): signed RS384 or ES384 with a key from the client's JWK Set (by value from the
 * clients file, or fetched from its {@code jwksUri} and cached); {@code iss} and {@code sub} the
 * client id; {@code aud} the token endpoint URL; {@code exp} present, not past and at most five
 * minutes ahead; {@code jti} present and never seen before on this node.
 *
 * <p>Spring Authorization Server's own factory fetches keys only by URL, accepts one algorithm per
 * client and checks neither {@code jti} reuse nor the lifetime, hence this one. Thread-safe; the
 * decoder of a client is rebuilt when its entry in the clients file changes.
 */
final class ClientAssertionDecoders implements JwtDecoderFactory<RegisteredClient> {

  private static final Logger log = LoggerFactory.getLogger(ClientAssertionDecoders.class);

  static final Set<JWSAlgorithm> ALGORITHMS = Set.of(JWSAlgorithm.RS384, JWSAlgorithm.ES384);
  static final Duration MAX_LIFETIME = Duration.ofMinutes(5);
  /** Tolerated difference between the client's clock and ours. */
  static final Duration CLOCK_SKEW = Duration.ofSeconds(30);

  private record Built(SmartClient client, JwtDecoder decoder) {}

  private final SmartClientRegistry registry;
  private final SeenAssertions seen;
  private final Clock clock;
  private final ConcurrentHashMap<String, Built> decoders = new ConcurrentHashMap<>();

  ClientAssertionDecoders(SmartClientRegistry registry, SeenAssertions seen, Clock clock) {
    this.registry = Objects.requireNonNull(registry, "registry");
    this.seen = Objects.requireNonNull(seen, "seen");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  @Override
  public JwtDecoder createDecoder(RegisteredClient registeredClient) {
    SmartClient client = registry.client(registeredClient.getClientId())
        .orElseThrow(() -> new BadJwtException("client is no longer registered"));
    return decoders.compute(client.clientId(), (id, built) ->
        built != null && built.client().equals(client) ? built : new Built(client, build(client))).decoder();
  }

  private JwtDecoder build(SmartClient client) {
    JWKSource<SecurityContext> keys;
    try {
      keys = client.jwks() != null
          ? new ImmutableJWKSet<>(JWKSet.parse(client.jwks()))
          : JWKSourceBuilder.create(client.jwksUri().toURL()).retrying(false).build();
    } catch (ParseException | MalformedURLException | IllegalArgumentException e) {
      log.warn("Client '{}' has an unusable JWK Set in the clients file: {}", client.clientId(), e.getMessage());
      return token -> {
        throw new BadJwtException("the client's registered JWK Set is unusable");
      };
    }
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(ALGORITHMS, keys));
    // Claims are checked by AssertionValidator below, with OAuth error descriptions.
    processor.setJWTClaimsSetVerifier((claims, context) -> {});
    NimbusJwtDecoder decoder = new NimbusJwtDecoder(processor);
    decoder.setJwtValidator(new AssertionValidator(client.clientId()));
    return decoder;
  }

  /** The claim checks; the {@code jti} is recorded only once every other check has passed. */
  private final class AssertionValidator implements OAuth2TokenValidator<Jwt> {
    private final String clientId;

    AssertionValidator(String clientId) {
      this.clientId = clientId;
    }

    @Override
    public OAuth2TokenValidatorResult validate(Jwt jwt) {
      String problem = problem(jwt);
      if (problem != null) {
        // Client ids and claim names only: never the assertion itself.
        log.info("Client assertion of '{}' refused: {}", clientId, problem);
        return OAuth2TokenValidatorResult.failure(new OAuth2Error(OAuth2ErrorCodes.INVALID_CLIENT, problem, null));
      }
      return OAuth2TokenValidatorResult.success();
    }

    private String problem(Jwt jwt) {
      Instant now = clock.instant();
      if (!clientId.equals(jwt.getClaimAsString("iss")) || !clientId.equals(jwt.getSubject())) {
        return "iss and sub must be the client id";
      }
      AuthorizationServerContext context = AuthorizationServerContextHolder.getContext();
      AuthorizationServerSettings settings = context.getAuthorizationServerSettings();
      String tokenEndpoint = context.getIssuer() + settings.getTokenEndpoint();
      // RFC 7523: the token endpoint; RFC 7662 / 7009 clients may name the endpoint they call instead.
      Set<String> accepted = Set.of(tokenEndpoint, context.getIssuer() + settings.getTokenIntrospectionEndpoint(),
          context.getIssuer() + settings.getTokenRevocationEndpoint());
      List<String> audience = jwt.getAudience();
      if (audience == null || audience.stream().noneMatch(accepted::contains)) {
        return "aud must be the token endpoint URL " + tokenEndpoint;
      }
      Instant exp = jwt.getExpiresAt();
      if (exp == null) {
        return "exp is missing";
      }
      if (exp.isBefore(now.minus(CLOCK_SKEW))) {
        return "the assertion has expired";
      }
      if (exp.isAfter(now.plus(MAX_LIFETIME).plus(CLOCK_SKEW))) {
        return "exp is more than 5 minutes ahead";
      }
      if (jwt.getNotBefore() != null && jwt.getNotBefore().isAfter(now.plus(CLOCK_SKEW))) {
        return "nbf is in the future";
      }
      String jti = jwt.getId();
      if (jti == null || jti.isBlank() || jti.length() > 256) {
        return "jti is missing";
      }
      return switch (seen.firstUse(clientId, jti, exp.plus(CLOCK_SKEW))) {
        case FIRST -> null;
        case REPLAY -> "jti has been used before";
        case FULL -> "too many client assertions in flight; retry shortly";
      };
    }
  }
}
