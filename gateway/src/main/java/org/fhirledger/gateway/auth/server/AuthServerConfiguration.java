package org.fhirledger.gateway.auth.server;

import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import org.fhirledger.gateway.GatewayProperties;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.MediaType;
import org.springframework.security.config.Customizer;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.oauth2.core.AuthorizationGrantType;
import org.springframework.security.oauth2.core.ClientAuthenticationMethod;
import org.springframework.security.oauth2.core.OAuth2AuthenticationException;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2ErrorCodes;
import org.springframework.security.oauth2.core.endpoint.OAuth2AccessTokenResponse;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.jwt.NimbusJwtEncoder;
import org.springframework.security.oauth2.server.authorization.OAuth2Authorization;
import org.springframework.security.oauth2.server.authorization.OAuth2AuthorizationService;
import org.springframework.security.oauth2.server.authorization.OAuth2TokenType;
import org.springframework.security.oauth2.server.authorization.authentication.JwtClientAssertionAuthenticationProvider;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2AccessTokenAuthenticationToken;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2AuthorizationCodeRequestAuthenticationContext;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2AuthorizationCodeRequestAuthenticationException;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2AuthorizationCodeRequestAuthenticationProvider;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2AuthorizationCodeRequestAuthenticationValidator;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2ClientCredentialsAuthenticationContext;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2ClientCredentialsAuthenticationProvider;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2ClientCredentialsAuthenticationToken;
import org.springframework.security.oauth2.server.authorization.authentication.OAuth2AuthorizationCodeRequestAuthenticationToken;
import org.springframework.security.oauth2.server.authorization.config.annotation.web.configurers.OAuth2AuthorizationServerConfigurer;
import org.springframework.security.oauth2.server.authorization.context.AuthorizationServerContextHolder;
import org.springframework.security.oauth2.server.authorization.settings.AuthorizationServerSettings;
import org.springframework.security.oauth2.server.authorization.token.DelegatingOAuth2TokenGenerator;
import org.springframework.security.oauth2.server.authorization.token.JwtGenerator;
import org.springframework.security.oauth2.server.authorization.token.OAuth2TokenGenerator;
import org.springframework.security.oauth2.server.authorization.web.authentication.OAuth2AccessTokenResponseAuthenticationSuccessHandler;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.authentication.LoginUrlAuthenticationEntryPoint;
import org.springframework.security.web.context.SecurityContextHolderFilter;
import org.springframework.security.web.util.matcher.MediaTypeRequestMatcher;
import org.springframework.security.web.util.matcher.OrRequestMatcher;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.UrlBasedCorsConfigurationSource;

/**
 * The embedded SMART authorization server (Spring Authorization Server), on unless
 * {@code gateway.auth-server.enabled=false}. Two filter chains, both matching only their own paths
 * so that {@code /fhir}, {@code /ledger} and everything else never pass through them:
 * the OAuth endpoints ({@code /oauth2/**}, the two {@code /.well-known} metadata documents) and the
 * user-facing pages ({@code /login}, {@code /logout}, the patient picker).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnProperty(name = "gateway.auth-server.enabled", havingValue = "true", matchIfMissing = true)
@EnableConfigurationProperties(AuthServerProperties.class)
class AuthServerConfiguration {

  static final List<String> SIGNING_ALGORITHMS = List.of("RS384", "ES384");
  /** Endpoints where a request without client authentication is an OAuth {@code invalid_client}, not a login. */
  private static final Set<String> CLIENT_ENDPOINTS = Set.of("/oauth2/token", "/oauth2/introspect", "/oauth2/revoke");
  /** Endpoints that browser-based apps call from their own origin. */
  private static final List<String> CORS_PATHS =
      List.of("/oauth2/token", "/oauth2/jwks", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server");

  @Bean
  EmbeddedIssuer embeddedIssuer(GatewayProperties gateway) throws IOException {
    Path keyFile = gateway.dataDir().resolve("auth-server").resolve("signing-key.jwks.json");
    return new EmbeddedIssuer(gateway.publicBaseUrl(), SigningKeys.loadOrCreate(keyFile));
  }

  /** The private keys, for Spring Authorization Server's JWK Set endpoint (which publishes only the public parts). */
  /** The resource server's default issuer, unless gateway.security.issuer names an external one. */
  @Bean
  org.fhirledger.gateway.auth.TokenIssuerSettings embeddedTokenIssuerSettings(EmbeddedIssuer issuer) {
    return new EmbeddedTokenIssuerSettings(issuer);
  }

  @Bean
  JWKSource<SecurityContext> authorizationServerJwkSource(EmbeddedIssuer issuer) {
    return issuer.signingKeys();
  }

  @Bean
  ExampleClients exampleClients(GatewayProperties gateway, AuthServerProperties properties) throws IOException {
    return ExampleClients.ensure(clientsFile(gateway, properties), gateway.dataDir());
  }

  @Bean
  SmartClientRegistry smartClientRegistry(GatewayProperties gateway, AuthServerProperties properties,
      ExampleClients examples) throws IOException {
    return new SmartClientRegistry(clientsFile(gateway, properties), properties.accessTokenTtl());
  }

  /** Authorizations (codes, issued tokens) for introspection, in memory: introspection is per node and forgets at restart. */
  @Bean
  OAuth2AuthorizationService authorizationService() {
    return new ExpiringAuthorizationService(Clock.systemUTC(), Duration.ofMinutes(10), 200_000);
  }

  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE + 10)
  SecurityFilterChain authorizationServerFilterChain(HttpSecurity http, EmbeddedIssuer issuer,
      SmartClientRegistry registry, OAuth2AuthorizationService authorizations, AuthServerProperties properties) throws Exception {
    OAuth2AuthorizationServerConfigurer server = OAuth2AuthorizationServerConfigurer.authorizationServer();
    ClientAssertionDecoders assertions = new ClientAssertionDecoders(
        registry, new SeenAssertions(Clock.systemUTC(), properties.maxPendingAssertions()), Clock.systemUTC());
    AuthorizationServerSettings.Builder settings = AuthorizationServerSettings.builder();
    issuer.configuredIssuer().ifPresent(i -> settings.issuer(i.toString()));

    // The endpoints, plus CORS preflights to those a browser app calls (Spring Authorization Server's
    // matcher is method-specific: its token endpoint matches POST only).
    http.securityMatcher(new OrRequestMatcher(server.getEndpointsMatcher(),
            request -> "OPTIONS".equals(request.getMethod()) && CORS_PATHS.contains(path(request))))
        .with(server, as -> as
            .registeredClientRepository(registry)
            .authorizationService(authorizations)
            .authorizationServerSettings(settings.build())
            .tokenGenerator(tokenGenerator(issuer, registry))
            .clientAuthentication(client -> client
                .authenticationConverters(converters -> converters.add(0, new ClientAssertionConverter()))
                .authenticationProviders(providers -> providers.forEach(p -> {
                  if (p instanceof JwtClientAssertionAuthenticationProvider jwt) {
                    jwt.setJwtDecoderFactory(assertions);
                  }
                })))
            .tokenEndpoint(token -> token
                .accessTokenResponseHandler(tokenResponseHandler(authorizations))
                .authenticationProviders(providers -> providers.forEach(p -> {
                  if (p instanceof OAuth2ClientCredentialsAuthenticationProvider cc) {
                    cc.setAuthenticationValidator(clientCredentialsScopes());
                  }
                })))
            .authorizationEndpoint(authorize -> authorize.authenticationProviders(providers -> providers.forEach(p -> {
              if (p instanceof OAuth2AuthorizationCodeRequestAuthenticationProvider code) {
                code.setAuthenticationValidator(
                    OAuth2AuthorizationCodeRequestAuthenticationValidator.DEFAULT_REDIRECT_URI_VALIDATOR.andThen(authorizationScopes()));
              }
            })))
            .authorizationServerMetadataEndpoint(m -> m.authorizationServerMetadataCustomizer(b -> b
                .grantTypes(smartGrantTypes())
                .tokenEndpointAuthenticationMethods(smartAuthMethods())
                .claim("token_endpoint_auth_signing_alg_values_supported", SIGNING_ALGORITHMS)
                .tokenIntrospectionEndpointAuthenticationMethods(smartAuthMethods())
                .tokenRevocationEndpointAuthenticationMethods(smartAuthMethods())
                .codeChallengeMethods(methods -> { methods.clear(); methods.add("S256"); })
                .responseTypes(types -> { types.clear(); types.add("code"); })))
            .oidc(oidc -> oidc
                .providerConfigurationEndpoint(p -> p.providerConfigurationCustomizer(b -> b
                    .grantTypes(smartGrantTypes())
                    .tokenEndpointAuthenticationMethods(smartAuthMethods())
                    .claim("token_endpoint_auth_signing_alg_values_supported", SIGNING_ALGORITHMS)
                .tokenIntrospectionEndpointAuthenticationMethods(smartAuthMethods())
                .tokenRevocationEndpointAuthenticationMethods(smartAuthMethods())
                    .codeChallengeMethods(methods -> { methods.clear(); methods.add("S256"); })
                    .scopes(scopes -> { scopes.clear(); scopes.addAll(List.of("openid", "fhirUser", "launch/patient")); })
                    .idTokenSigningAlgorithms(algs -> { algs.clear(); algs.add("RS256"); })
                    .responseTypes(types -> { types.clear(); types.add("code"); })))))
        .authorizeHttpRequests(authorize -> authorize.anyRequest().authenticated())
        .cors(cors -> cors.configurationSource(browserAppCors()))
        .oauth2ResourceServer(rs -> rs.jwt(jwt -> jwt.decoder(userInfoDecoder(issuer))))
        .exceptionHandling(e -> e
            .defaultAuthenticationEntryPointFor(ClientAuthenticationRequired::send,
                request -> CLIENT_ENDPOINTS.contains(path(request)))
            .defaultAuthenticationEntryPointFor(
                new LoginUrlAuthenticationEntryPoint("/login"), new MediaTypeRequestMatcher(MediaType.TEXT_HTML)))
        .addFilterAfter(new PatientLaunchFilter(registry), SecurityContextHolderFilter.class);
    return http.build();
  }

  /** The login form and the patient picker: the pages a person sees during an authorization. */
  @Bean
  @Order(Ordered.HIGHEST_PRECEDENCE + 11)
  SecurityFilterChain authorizationServerLoginFilterChain(HttpSecurity http, SmartClientRegistry registry) throws Exception {
    http.securityMatcher("/login", "/logout", PatientLaunchFilter.PICKER_PATH)
        .userDetailsService(registry)
        .authorizeHttpRequests(authorize -> authorize.requestMatchers("/login").permitAll().anyRequest().authenticated())
        .formLogin(Customizer.withDefaults());
    return http.build();
  }

  /**
   * Browser-based SMART apps call the token endpoint and read the metadata and keys from another
   * origin; these endpoints take no cookies, so any origin may call them.
   */
  private static UrlBasedCorsConfigurationSource browserAppCors() {
    CorsConfiguration cors = new CorsConfiguration();
    cors.addAllowedOriginPattern("*");
    cors.setAllowedMethods(List.of("GET", "POST", "OPTIONS"));
    cors.setAllowedHeaders(List.of("Authorization", "Content-Type", "Accept"));
    cors.setAllowCredentials(false);
    cors.setMaxAge(Duration.ofHours(1));
    UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
    for (String path : CORS_PATHS) {
      source.registerCorsConfiguration(path, cors);
    }
    return source;
  }

  private static String path(HttpServletRequest request) {
    return request.getRequestURI().substring(request.getContextPath().length());
  }

  private static Path clientsFile(GatewayProperties gateway, AuthServerProperties properties) {
    return properties.clientsFile() != null ? properties.clientsFile() : gateway.dataDir().resolve("smart-clients.json");
  }

  private static OAuth2TokenGenerator<?> tokenGenerator(EmbeddedIssuer issuer, SmartClientRegistry registry) {
    JwtGenerator jwt = new JwtGenerator(new NimbusJwtEncoder(issuer.signingKeys()));
    jwt.setJwtCustomizer(new SmartTokenClaims(registry));
    // Access tokens and id_tokens are JWTs; no refresh tokens (no client is registered for that grant).
    return new DelegatingOAuth2TokenGenerator(jwt);
  }

  /** Validates the access tokens presented to the OpenID userinfo endpoint (the only bearer endpoint here). */
  private static NimbusJwtDecoder userInfoDecoder(EmbeddedIssuer issuer) {
    DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();
    processor.setJWSKeySelector(new JWSVerificationKeySelector<>(Set.of(JWSAlgorithm.RS384), issuer.publicKeys()));
    processor.setJWTClaimsSetVerifier((claims, context) -> {});
    return new NimbusJwtDecoder(processor);
  }

  /** Adds {@code patient} (SMART launch context) to the token response, from the access token's claims. */
  private static OAuth2AccessTokenResponseAuthenticationSuccessHandler tokenResponseHandler(OAuth2AuthorizationService authorizations) {
    OAuth2AccessTokenResponseAuthenticationSuccessHandler handler = new OAuth2AccessTokenResponseAuthenticationSuccessHandler();
    handler.setAccessTokenResponseCustomizer(context -> {
      OAuth2AccessTokenAuthenticationToken token = context.getAuthentication();
      OAuth2Authorization authorization =
          authorizations.findByToken(token.getAccessToken().getTokenValue(), OAuth2TokenType.ACCESS_TOKEN);
      Object patient = authorization == null || authorization.getAccessToken().getClaims() == null
          ? null : authorization.getAccessToken().getClaims().get(SmartTokenClaims.PATIENT);
      if (patient != null) {
        Map<String, Object> extra = new HashMap<>(token.getAdditionalParameters());
        extra.put(SmartTokenClaims.PATIENT, patient.toString());
        OAuth2AccessTokenResponse.Builder response = context.getAccessTokenResponse();
        response.additionalParameters(extra);
      }
    });
    return handler;
  }

  private static Consumer<OAuth2ClientCredentialsAuthenticationContext> clientCredentialsScopes() {
    return context -> {
      OAuth2ClientCredentialsAuthenticationToken request = context.getAuthentication();
      Set<String> requested = request.getScopes();
      Set<String> allowed = context.getRegisteredClient().getScopes();
      if (requested.isEmpty()) {
        throw new OAuth2AuthenticationException(new OAuth2Error(OAuth2ErrorCodes.INVALID_SCOPE,
            "scope is required (e.g. system/*.rs)", null));
      }
      for (String scope : requested) {
        if (!SmartScopes.covered(allowed, scope)) {
          throw new OAuth2AuthenticationException(new OAuth2Error(OAuth2ErrorCodes.INVALID_SCOPE,
              "scope " + scope + " is not allowed for this client", null));
        }
      }
    };
  }

  private static Consumer<OAuth2AuthorizationCodeRequestAuthenticationContext> authorizationScopes() {
    return context -> {
      Set<String> allowed = context.getRegisteredClient().getScopes();
      OAuth2AuthorizationCodeRequestAuthenticationToken request = context.getAuthentication();
      // SMART App Launch: aud names the FHIR server the app means to use; refuse tokens for any other.
      Object aud = request.getAdditionalParameters().get("aud");
      String expected = EmbeddedIssuer.audience(URI.create(AuthorizationServerContextHolder.getContext().getIssuer()));
      if (!expected.equals(aud) && !(expected + "/").equals(aud)) {
        throw new OAuth2AuthorizationCodeRequestAuthenticationException(new OAuth2Error(OAuth2ErrorCodes.INVALID_REQUEST,
            "aud must be this server's FHIR base URL " + expected, null), request);
      }
      for (String scope : request.getScopes()) {
        if (!SmartScopes.covered(allowed, scope)) {
          throw new OAuth2AuthorizationCodeRequestAuthenticationException(new OAuth2Error(OAuth2ErrorCodes.INVALID_SCOPE,
              "scope " + scope + " is not allowed for this client", null), request);
        }
      }
    };
  }

  private static Consumer<List<String>> smartGrantTypes() {
    return grants -> {
      grants.clear();
      grants.add(AuthorizationGrantType.AUTHORIZATION_CODE.getValue());
      grants.add(AuthorizationGrantType.CLIENT_CREDENTIALS.getValue());
    };
  }

  private static Consumer<List<String>> smartAuthMethods() {
    return methods -> {
      methods.clear();
      methods.add(ClientAuthenticationMethod.PRIVATE_KEY_JWT.getValue());
      methods.add(ClientAuthenticationMethod.CLIENT_SECRET_BASIC.getValue());
      methods.add(ClientAuthenticationMethod.NONE.getValue());
    };
  }
}
