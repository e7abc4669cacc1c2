package org.fhirledger.gateway.auth.server;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.security.web.DefaultSecurityFilterChain;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.util.matcher.AnyRequestMatcher;

/**
 * Keeps Spring Security (on the classpath for the authorization server) out of every path that no
 * other filter chain claims: {@code /fhir}, {@code /ledger} and the rest reach their servlets as if
 * Spring Security were absent (no login, no CSRF, no added headers). Without a chain of our own,
 * Spring Boot would install its default one, which requires a login for everything. This chain
 * comes last; chains that protect specific paths are ordered before it.
 */
@Configuration(proxyBeanMethods = false)
class PassThroughSecurityConfiguration {

  @Bean
  @Order(Ordered.LOWEST_PRECEDENCE)
  SecurityFilterChain passThroughFilterChain() {
    return new DefaultSecurityFilterChain(AnyRequestMatcher.INSTANCE);
  }
}
