package org.fhirledger.gateway;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.server.HardcodedServerAddressStrategy;
import java.net.URI;
import org.fhirledger.gateway.audit.AuditEndpoints;
import org.fhirledger.gateway.auth.SmartAuthorizationInterceptor;
import org.fhirledger.gateway.definitions.OwnDefinitionsProvider;
import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.fhirledger.gateway.ledger.PseudonymErasure;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.gateway.server.FailedInteractionRecorder;
import org.fhirledger.gateway.server.CapabilityStatementAdjuster;
import org.fhirledger.gateway.server.CapabilityStatementContributor;
import org.fhirledger.gateway.server.ForwardingPolicy;
import org.fhirledger.gateway.server.GatewayRestfulServer;
import org.fhirledger.gateway.provenance.ProvenanceWriter;
import org.fhirledger.gateway.server.InteractionForwarder;
import org.fhirledger.gateway.upstream.MicronautUpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamSettings;
import org.fhirledger.gateway.validation.WriteValidation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the FHIR endpoint to the EHR: the sandbox by default, a remote EHR when configured. */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(GatewayProperties.class)
class GatewayConfiguration {

  private static final Logger log = LoggerFactory.getLogger(GatewayConfiguration.class);

  @Bean
  FhirContext fhirContext() {
    return FhirContext.forR4Cached();
  }

  /** The embedded sandbox EHR, started only when no remote EHR is configured. */
  @Bean(destroyMethod = "close")
  @ConditionalOnExpression("'${gateway.upstream.base-url:}'.isBlank()")
  SandboxEhr sandboxEhr(GatewayProperties properties) {
    SandboxEhr sandbox = SandboxEhr.start(properties.dataDir().toAbsolutePath());
    log.info("Embedded sandbox EHR started on a loopback-only port (data in {})", properties.dataDir());
    return sandbox;
  }

  @Bean(destroyMethod = "close")
  UpstreamFhirClient upstreamFhirClient(GatewayProperties properties, ObjectProvider<SandboxEhr> sandbox) {
    GatewayProperties.Upstream upstream = properties.upstream();
    URI base = upstream.baseUrl() != null ? upstream.baseUrl() : sandbox.getObject().baseUrl();
    UpstreamSettings settings = new UpstreamSettings(
        upstream.connectTimeout(), upstream.readTimeout(), upstream.maxConnections(), upstream.maxRetries(),
        Math.toIntExact(upstream.maxContentLength().toBytes()));
    return new MicronautUpstreamFhirClient(base, settings);
  }

  @Bean
  InteractionForwarder interactionForwarder(UpstreamFhirClient upstream, FhirContext fhirContext,
      GatewayProperties properties, InteractionRecorder recorder,
      ObjectProvider<CapabilityStatementContributor> capabilityContributors, ObjectProvider<ForwardingPolicy> policy,
      ObjectProvider<org.fhirledger.gateway.consent.ConsentEnforcer> consent) {
    String version = GatewayConfiguration.class.getPackage().getImplementationVersion();
    CapabilityStatementAdjuster adjuster = new CapabilityStatementAdjuster(fhirContext, "FHIR Ledger Gateway",
        version == null ? "dev" : version, capabilityContributors.orderedStream().toList());
    ProvenanceWriter provenance = properties.provenance().enabled() ? new ProvenanceWriter(upstream, fhirContext, properties.provenance().maxBatch()) : null;
    return new InteractionForwarder(upstream, adjuster, properties.upstream().versionConflictAs412(), recorder,
        policy.getIfAvailable(() -> ForwardingPolicy.NONE), provenance, consent.getIfAvailable());
  }

  @Bean
  ServletRegistrationBean<GatewayRestfulServer> fhirServlet(
      FhirContext fhirContext, InteractionForwarder forwarder, InteractionRecorder recorder,
      GatewayProperties properties, AuditEndpoints audit, PseudonymErasure pseudonymErasure,
      ObjectProvider<SmartAuthorizationInterceptor> smartSecurity, OwnDefinitionsProvider definitions,
      WriteValidation writeValidation) {
    GatewayRestfulServer server = new GatewayRestfulServer(fhirContext, forwarder,
        request -> audit.serves(request) || definitions.serves(request));
    server.registerProviders(audit.providers());
    server.registerProvider(definitions);
    // Authentication and authorization before anything else is served (gateway.security.enabled).
    smartSecurity.ifAvailable(server::registerInterceptor);
    // Then validation of writes, before the ledger intent and before anything is forwarded.
    server.registerInterceptor(writeValidation);
    server.registerInterceptor(new FailedInteractionRecorder(recorder));
    server.registerInterceptor(pseudonymErasure);
    if (properties.publicBaseUrl() != null) {
      server.setServerAddressStrategy(new HardcodedServerAddressStrategy(properties.publicBaseUrl().toString()));
    }
    ServletRegistrationBean<GatewayRestfulServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
    registration.setName("fhir");
    registration.setLoadOnStartup(1);
    return registration;
  }
}
