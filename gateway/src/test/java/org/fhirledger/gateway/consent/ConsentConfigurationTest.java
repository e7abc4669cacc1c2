package org.fhirledger.gateway.consent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import org.fhirledger.gateway.upstream.MicronautUpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamSettings;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The Spring wiring: nothing without {@code gateway.consent.enabled=true}; fail-closed beans when the EHR is down. */
class ConsentConfigurationTest {

  private final ApplicationContextRunner runner = new ApplicationContextRunner()
      .withUserConfiguration(ConsentConfiguration.class)
      .withBean(FhirContext.class, FhirContext::forR4Cached)
      .withBean(Clock.class, Clock::systemUTC)
      .withBean(UpstreamFhirClient.class, ConsentConfigurationTest::deadEhr);

  @Test
  void consent_disabledByDefault_noBeans() {
    runner.run(ctx -> {
      assertTrue(ctx.getBeansOfType(ConsentService.class).isEmpty());
      assertTrue(ctx.getBeansOfType(ConsentIndex.class).isEmpty());
      assertTrue(ctx.getBeansOfType(ConsentEnforcer.class).isEmpty(), "nothing enforced with consent off");
    });
  }

  @org.junit.jupiter.api.io.TempDir
  java.nio.file.Path dataDir;

  @Test
  void consent_enabledWithEhrDown_startsAndDeniesAsNotReady() {
    runner.withPropertyValues("gateway.consent.enabled=true", "gateway.consent.default-policy=opt-out",
        "gateway.consent.retry-interval=1h", "gateway.data-dir=" + dataDir).run(ctx -> {
          assertNotNull(ctx.getBean(ConsentService.class));
          assertNotNull(ctx.getBean(ConsentEnforcer.class));
          assertFalse(ctx.getBean(ConsentIndex.class).inSync());
          ConsentDecision d = ctx.getBean(ConsentService.class).decide(new ConsentRequest("Patient/p1", "app-1",
              Set.of("Practitioner/dr1"), ConsentAction.ACCESS, Set.of("TREAT")));
          assertEquals(ConsentDecision.Outcome.DENY, d.outcome());
          assertTrue(java.nio.file.Files.exists(dataDir.resolve("consent").resolve("paging-link.key")),
              "the paging link key is kept in the data directory");
        });
  }

  @Test
  void consent_unknownDefaultPolicy_failsToStart() {
    runner.withPropertyValues("gateway.consent.enabled=true", "gateway.consent.default-policy=maybe")
        .run(ctx -> assertNotNull(ctx.getStartupFailure()));
  }

  private static UpstreamFhirClient deadEhr() {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return new MicronautUpstreamFhirClient(URI.create("http://127.0.0.1:" + port + "/fhir"),
        new UpstreamSettings(Duration.ofSeconds(2), Duration.ofSeconds(5), 2, 0, 1024 * 1024));
  }
}
