package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import org.fhirledger.ledger.entry.LinkKey;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.springframework.beans.factory.annotation.Value;
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
      UpstreamFhirClient upstream, ConsentProperties properties, Clock clock,
      @Value("${gateway.data-dir:data}") Path dataDir) throws IOException {
    // One key per instance, kept with the gateway's state: paging links survive a restart of the same instance.
    LinkKey key = LinkKey.loadOrGenerate(dataDir.resolve("consent").resolve("paging-link.key"),
        new SecureRandom());
    return new ConsentEnforcer(service, index, fhirContext, upstream, properties.denyAsNotFound(), key,
        properties.maxPageFetches(), properties.affiliationLookup()
            ? new PractitionerAffiliations(upstream, fhirContext, clock, properties.affiliationTtl()) : null);
  }
}
