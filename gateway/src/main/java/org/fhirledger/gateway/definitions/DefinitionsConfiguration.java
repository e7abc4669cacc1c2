package org.fhirledger.gateway.definitions;

import ca.uhn.fhir.context.FhirContext;
import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the endpoint that serves the gateway's own conformance resources. */
@Configuration(proxyBeanMethods = false)
class DefinitionsConfiguration {

  @Bean
  OwnDefinitionsProvider ownDefinitionsProvider(FhirContext fhirContext, InteractionRecorder recorder) {
    return new OwnDefinitionsProvider(fhirContext, recorder);
  }
}
