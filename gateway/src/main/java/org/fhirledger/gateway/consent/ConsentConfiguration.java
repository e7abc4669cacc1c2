package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The Consent index, the {@link ConsentService} and the {@link ConsentEnforcer} that {@code GatewayConfiguration}
 * hands to the request path, present only with {@code gateway.consent.enabled=true}.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(ConsentProperties.class)
@ConditionalOnProperty(name = "gateway.consent.enabled", havingValue = "true")
public class ConsentConfiguration {

  @Bean
  ConsentIndex consentIndex(FhirContext fhirContext, UpstreamFhirClient upstream, ConsentProperties properties) {
    return new ConsentIndex(fhirContext, upstream, properties.pageSize());
  }

  @Bean(initMethod = "start", destroyMethod = "close")
  ConsentIndexKeeper consentIndexKeeper(ConsentIndex index, ConsentProperties properties) {
    return new ConsentIndexKeeper(index, properties.retryInterval());
  }

  @Bean
  ConsentService consentService(ConsentIndex index, ConsentProperties properties, Clock clock,
      FhirContext fhirContext) {
    return new IndexedConsentService(index, properties.policy(), clock, fhirContext);
  }

  /** Enforcement in the request path: {@code InteractionForwarder} calls it on every interaction. */
  @Bean
  ConsentEnforcer consentEnforcer(ConsentService service, ConsentIndex index, FhirContext fhirContext,
      UpstreamFhirClient upstream, ConsentProperties properties) {
    return new ConsentEnforcer(service, index, fhirContext, upstream, properties.denyAsNotFound());
  }
}
