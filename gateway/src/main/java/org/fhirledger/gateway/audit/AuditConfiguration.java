package org.fhirledger.gateway.audit;

import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.entry.PatientSecretStore;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** Wires the audit trail served from the ledger: index, renderer, and the two FHIR endpoints. */
@Configuration(proxyBeanMethods = false)
class AuditConfiguration {

  @Bean
  AuditEndpoints auditEndpoints(Ledger ledger, PatientSecretStore secrets, InteractionRecorder recorder) {
    LedgerAuditTrail trail = new LedgerAuditTrail(ledger, new AuditIndex(ledger), new Pseudonymizer(secrets),
        new LedgerAuditEventFactory());
    return new AuditEndpoints(new AuditEventProvider(trail, recorder), new AccessReportProvider(trail, recorder));
  }
}
