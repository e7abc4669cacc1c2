package org.fhirledger.gateway.auth;

import ca.uhn.fhir.context.FhirContext;
import java.net.http.HttpClient;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;
import org.fhirledger.gateway.GatewayProperties;
import org.fhirledger.gateway.audit.AuditEndpoints;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.web.cors.CorsConfiguration;
import org.springframework.web.cors.UrlBasedCorsConfigurationSource;
import org.springframework.web.filter.CorsFilter;

/**
 * The SMART on FHIR resource server: token validation and scope enforcement on {@code /fhir}
 * (when {@code gateway.security.enabled}, the default), the discovery document, the
 * CapabilityStatement's security section, and CORS for browser apps.
 *
 * <p>The issuer is {@code gateway.security.issuer} when set (an external one: Keycloak, the
 * hospital's IdP), else the {@link TokenIssuerSettings} bean of an embedded authorization server,
 * whose methods are first called on the first request (so they may depend on the server's port).
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(SecurityProperties.class)
public class SecurityConfiguration {

  static final String ENABLED = "gateway.security.enabled";

  @Bean
  IssuerMetadata issuerMetadata(SecurityProperties properties, ObjectProvider<TokenIssuerSettings> embedded,
      Clock clock) {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER).build();
    return new IssuerMetadata(properties, Optional.ofNullable(embedded.getIfAvailable()), http, clock);
  }

  @Bean
  @ConditionalOnProperty(name = ENABLED, havingValue = "true", matchIfMissing = true)
  SmartCapabilities smartCapabilities(IssuerMetadata issuer) {
    return new SmartCapabilities(issuer);
  }

  @Bean
  @ConditionalOnProperty(name = ENABLED, havingValue = "true", matchIfMissing = true)
  ScopePolicy scopePolicy(FhirContext fhirContext) {
    return new ScopePolicy(new ResourceMatcher(fhirContext));
  }

  @Bean
  @ConditionalOnProperty(name = ENABLED, havingValue = "true", matchIfMissing = true)
  SmartForwardingPolicy smartForwardingPolicy(FhirContext fhirContext, ScopePolicy policy) {
    return new SmartForwardingPolicy(fhirContext, policy);
  }

  @Bean
  @ConditionalOnProperty(name = ENABLED, havingValue = "true", matchIfMissing = true)
  SmartAuthorizationInterceptor smartAuthorizationInterceptor(SecurityProperties properties,
      GatewayProperties gateway, IssuerMetadata issuer, FhirContext fhirContext, ScopePolicy policy,
      UpstreamFhirClient upstream, AuditEndpoints audit, Clock clock) {
    Supplier<Optional<AccessTokenValidator>> validator = new Supplier<>() {
      private volatile AccessTokenValidator created;

      @Override
      public Optional<AccessTokenValidator> get() {
        AccessTokenValidator v = created;
        if (v == null) {
          synchronized (this) {
            if (created == null) {
              Optional<TokenIssuerSettings> local = issuer.trustedEmbedded();
              if (local.isPresent() && local.get().keys().isPresent() && properties.jwksUri() == null) {
                // The embedded server: its keys in-process, its name following the address clients use.
                created = new NimbusAccessTokenValidator(aud -> local.get().at(aud).issuer().toString(),
                    local.get().keys().get(), properties.clockSkew(), properties.purposeOfUseClaim(), clock);
              } else {
                created = issuer.issuer().map(iss -> new NimbusAccessTokenValidator(iss, issuer::jwksUri,
                    properties.clockSkew(), properties.jwksRefreshMinInterval(), properties.jwksCacheTtl(),
                    properties.purposeOfUseClaim(), clock)).orElse(null);
              }
            }
            v = created;
          }
        }
        return Optional.ofNullable(v);
      }
    };
    java.net.URI audience = properties.audience() != null && !properties.audience().isBlank()
        ? java.net.URI.create(properties.audience()) : gateway.publicBaseUrl();
    return new SmartAuthorizationInterceptor(validator,
        new RequestAuthorizer(fhirContext, policy, upstream, audit::serves), audience);
  }

  @Bean
  @ConditionalOnProperty(name = ENABLED, havingValue = "true", matchIfMissing = true)
  ServletRegistrationBean<SmartConfigurationServlet> smartConfigurationServlet(IssuerMetadata issuer) {
    ServletRegistrationBean<SmartConfigurationServlet> registration =
        new ServletRegistrationBean<>(new SmartConfigurationServlet(issuer), "/fhir/.well-known/smart-configuration");
    registration.setName("smart-configuration");
    return registration;
  }

  /** CORS for {@code /fhir} (and so the discovery document): bearer tokens only, never cookies. */
  @Bean
  FilterRegistrationBean<CorsFilter> fhirCorsFilter(SecurityProperties properties) {
    CorsConfiguration cors = new CorsConfiguration();
    cors.setAllowedOrigins(properties.corsAllowedOrigins());
    cors.setAllowedMethods(List.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"));
    cors.setAllowedHeaders(List.of("Authorization", "Content-Type", "Accept", "Prefer", "If-Match",
        "If-None-Match", "If-None-Exist", "If-Modified-Since", "X-Requested-With"));
    cors.setExposedHeaders(List.of("Location", "Content-Location", "ETag", "Last-Modified", "X-Ledger-Index",
        "X-Request-ID", "WWW-Authenticate"));
    cors.setAllowCredentials(false);
    cors.setMaxAge(Duration.ofHours(1));
    UrlBasedCorsConfigurationSource source = new UrlBasedCorsConfigurationSource();
    // The filter is mapped to /fhir/* only; the lookup path inside it is relative to the FHIR servlet.
    source.registerCorsConfiguration("/**", cors);
    FilterRegistrationBean<CorsFilter> registration = new FilterRegistrationBean<>(new CorsFilter(source));
    registration.addUrlPatterns("/fhir/*");
    registration.setName("fhir-cors");
    registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 10);
    return registration;
  }
}
