package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.time.Clock;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The Consent index and {@link ConsentService}, present only with {@code gateway.consent.enabled=true}. Phase 2 of
 * issue #6 injects the {@link ConsentService} and {@link ConsentIndex} into the request path.
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
}
