package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.context.FhirContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import org.fhirledger.gateway.GatewayProperties;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.entry.PatientSecretStore;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.jdbc.JdbcPatientSecretStore;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The gateway's ledger: an H2 file database in {@code <data-dir>/ledger/}, signed with the key in
 * that directory (generated on first start, readable only by its owner), and the off-ledger store
 * of patients' pseudonym secrets beside it.
 */
@Configuration(proxyBeanMethods = false)
class LedgerConfiguration {

  @Bean
  Clock clock() {
    return Clock.systemUTC();
  }

  @Bean(destroyMethod = "close")
  Ledger ledger(GatewayProperties properties, Clock clock)
      throws LedgerUnavailableException, LedgerVerificationException, java.io.IOException {
    GatewayProperties.LedgerSettings settings = properties.ledger();
    LedgerOptions options = LedgerOptions.defaults()
        .withClock(clock)
        .withMaxBatchSize(settings.maxBatchSize())
        .withMaxBatchDelay(settings.maxBatchDelay());
    return Ledgers.openH2(ledgerDir(properties), settings.origin(), options);
  }

  @Bean
  PatientSecretStore patientSecretStore(GatewayProperties properties, Clock clock, Ledger ledger)
      throws LedgerUnavailableException, java.io.IOException {
    return JdbcPatientSecretStore.open(JdbcLedgerStorage.h2(ledgerDir(properties)), clock, new SecureRandom());
  }

  @Bean
  InteractionRecorder interactionRecorder(
      Ledger ledger, PatientSecretStore secrets, FhirContext fhirContext, GatewayProperties properties, Clock clock) {
    return new InteractionRecorder(ledger, new Pseudonymizer(secrets), new FhirContent(fhirContext),
        properties.ledger().origin(), clock);
  }

  private static Path ledgerDir(GatewayProperties properties) throws java.io.IOException {
    return Files.createDirectories(properties.dataDir().toAbsolutePath().resolve("ledger"));
  }
}
