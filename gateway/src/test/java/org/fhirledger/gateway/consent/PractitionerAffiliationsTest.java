package org.fhirledger.gateway.consent;

import org.fhirledger.gateway.MutableClock;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.fhirledger.gateway.upstream.MicronautUpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamSettings;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.PractitionerRole;
import org.hl7.fhir.r4.model.Reference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The PractitionerRole look-up against a real HTTP server (the JDK's) through the gateway's real upstream client:
 * which roles count, caching for the TTL, and failing closed (empty, not cached) when the EHR fails.
 */
class PractitionerAffiliationsTest {

  static final FhirContext FHIR = FhirContext.forR4Cached();
  static final Instant NOW = Instant.parse("2026-03-15T12:00:00Z");

  HttpServer server;
  MicronautUpstreamFhirClient upstream;
  final AtomicInteger requests = new AtomicInteger();
  final AtomicInteger status = new AtomicInteger(200);
  final AtomicReference<String> query = new AtomicReference<>();
  MutableClock clock;
  PractitionerAffiliations affiliations;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/fhir/PractitionerRole", exchange -> {
      requests.incrementAndGet();
      query.set(exchange.getRequestURI().getRawQuery());
      byte[] body = FHIR.newJsonParser().encodeResourceToString(roles()).getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/fhir+json");
      exchange.sendResponseHeaders(status.get(), body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    server.start();
    upstream = new MicronautUpstreamFhirClient(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/fhir"),
        new UpstreamSettings(Duration.ofSeconds(2), Duration.ofSeconds(2), 2, 0, 1 << 20));
    clock = new MutableClock(NOW);
    affiliations = new PractitionerAffiliations(upstream, FHIR, clock, Duration.ofSeconds(60));
  }

  @AfterEach
  void stop() throws Exception {
    upstream.close();
    server.stop(0);
  }

  static Bundle roles() {
    Bundle b = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    PractitionerRole current = new PractitionerRole();
    current.setId("role-current");
    current.setActive(true);
    current.setOrganization(new Reference("Organization/org-1"));
    PractitionerRole inactive = new PractitionerRole();
    inactive.setId("role-inactive");
    inactive.setActive(false);
    inactive.setOrganization(new Reference("Organization/org-2"));
    PractitionerRole ended = new PractitionerRole();
    ended.setId("role-ended");
    ended.setPeriod(new Period().setEnd(Date.from(NOW.minusSeconds(1))));
    ended.setOrganization(new Reference("Organization/org-3"));
    PractitionerRole foreign = new PractitionerRole();
    foreign.setId("role-foreign");
    foreign.setOrganization(new Reference("https://elsewhere.example/fhir/Organization/org-4"));
    for (PractitionerRole r : new PractitionerRole[] {current, inactive, ended, foreign}) {
      b.addEntry().setResource(r);
    }
    return b;
  }

  @Test
  void of_activeRolesAndTheirOrganizations_only() {
    assertEquals(Optional.of(Set.of("PractitionerRole/role-current", "Organization/org-1",
        "PractitionerRole/role-foreign")), affiliations.of("Practitioner/dr-1"));
    assertEquals("practitioner=Practitioner%2Fdr-1&_count=100", query.get());
  }

  @Test
  void of_withinTtl_isCached_andLookedUpAgainAfter() {
    affiliations.of("Practitioner/dr-1");
    affiliations.of("Practitioner/dr-1");
    assertEquals(1, requests.get());
    clock.set(NOW.plusSeconds(60));
    affiliations.of("Practitioner/dr-1");
    assertEquals(2, requests.get());
  }

  @Test
  void of_ehrFails_isEmpty_andNotCached() {
    status.set(500);
    assertTrue(affiliations.of("Practitioner/dr-1").isEmpty(), "fail closed: unknown, not 'no roles'");
    status.set(200);
    assertTrue(affiliations.of("Practitioner/dr-1").isPresent());
    assertEquals(2, requests.get());
  }

  @Test
  void of_ehrUnreachable_isEmpty() throws Exception {
    server.stop(0);
    assertTrue(affiliations.of("Practitioner/dr-1").isEmpty());
  }

  @Test
  void of_notAPractitionerReference_asksNothing() {
    assertEquals(Optional.of(Set.of()), affiliations.of("Practitioner/../x"));
    assertEquals(0, requests.get());
  }
}
