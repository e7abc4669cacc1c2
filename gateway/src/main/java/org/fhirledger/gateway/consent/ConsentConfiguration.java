package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import org.fhirledger.gateway.GatewayProperties;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.entry.LinkKey;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;

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

  /** Starts the rebuild only once the ledger follower has fixed where it starts, so no Consent change falls between. */
  @Bean(initMethod = "start", destroyMethod = "close")
  @DependsOn("consentLedgerFollower")
  ConsentIndexKeeper consentIndexKeeper(ConsentIndex index, ConsentProperties properties) {
    return new ConsentIndexKeeper(index, properties.retryInterval());
  }

  @Bean
  ConsentService consentService(ConsentIndex index, ConsentProperties properties, Clock clock,
      FhirContext fhirContext) {
    return new IndexedConsentService(index, properties.policy(), clock, fhirContext);
  }

  /**
   * With several instances on one shared PostgreSQL ledger, follows the other instances' Consent writes on the
   * ledger; otherwise nothing to follow (every Consent write goes through this gateway's own write path).
   */
  @Bean(destroyMethod = "close")
  AutoCloseable consentLedgerFollower(ObjectProvider<GatewayProperties> gatewayProperties,
      ObjectProvider<Ledger> ledger, ConsentIndex index) {
    GatewayProperties gateway = gatewayProperties.getIfAvailable();
    if (gateway == null || gateway.ledger().mode() != GatewayProperties.LedgerMode.SHARED_POSTGRES) {
      return () -> { };
    }
    return ConsentLedgerFollower.start(ledger.getObject(), index, gateway.ledger().origin(),
        gateway.ledger().sharedPostgres().followInterval());
  }

  /** Enforcement in the request path: {@code InteractionForwarder} calls it on every interaction. */
  @Bean
  ConsentEnforcer consentEnforcer(ConsentService service, ConsentIndex index, FhirContext fhirContext,
      UpstreamFhirClient upstream, ConsentProperties properties, Clock clock,
      @Value("${gateway.data-dir:data}") Path dataDir) throws IOException {
    // Kept with the gateway's state, so paging links survive a restart; instances that share one ledger behind one
    // load balancer are given one copy (gateway.consent.paging-key-file).
    Path keyFile = properties.pagingKeyFile() != null ? properties.pagingKeyFile()
        : dataDir.resolve("consent").resolve("paging-link.key");
    LinkKey key = LinkKey.loadOrGenerate(keyFile, new SecureRandom());
    return new ConsentEnforcer(service, index, fhirContext, upstream, properties.denyAsNotFound(), key,
        properties.maxPageFetches(), properties.affiliationLookup()
            ? new PractitionerAffiliations(upstream, fhirContext, clock, properties.affiliationTtl()) : null);
  }
}
