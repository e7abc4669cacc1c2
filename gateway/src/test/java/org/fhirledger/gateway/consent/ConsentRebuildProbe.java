package org.fhirledger.gateway.consent;

import static org.fhirledger.gateway.consent.ConsentFixtures.FHIR;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.gateway.upstream.MicronautUpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamSettings;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Organization;
import org.hl7.fhir.r4.model.Patient;
import org.hl7.fhir.r4.model.Practitioner;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.RelatedPerson;
import org.hl7.fhir.r4.model.Resource;

/**
 * Measures rebuilding the Consent index from a real EHR (the sandbox, HAPI JPA on H2) over HTTP: loads
 * {@code patients × 5} Consents of {@link ConsentPopulation} (and the resources they reference) with transactions,
 * then times {@link ConsentIndex#rebuild} with each page size given. Not a test; run from the test classpath:
 * {@code ConsentRebuildProbe <patients> <pageSize>...}.
 */
public final class ConsentRebuildProbe {

  private ConsentRebuildProbe() {}

  public static void main(String[] args) throws Exception {
    int patients = Integer.parseInt(args[0]);
    Path dir = Files.createTempDirectory("consent-probe");
    HttpClient http = HttpClient.newHttpClient();
    try (SandboxEhr ehr = SandboxEhr.start(dir);
        UpstreamFhirClient upstream = new MicronautUpstreamFhirClient(ehr.baseUrl(),
            new UpstreamSettings(Duration.ofSeconds(5), Duration.ofMinutes(5), 8, 0, 256 * 1024 * 1024))) {
      long t0 = System.nanoTime();
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      for (int d = 0; d < 500; d++) {
        add(http, ehr, tx, new Practitioner(), "Practitioner/dr" + d);
      }
      for (int o = 0; o < 50; o++) {
        add(http, ehr, tx, new Organization(), "Organization/org" + o);
      }
      List<Consent> consents = ConsentPopulation.consents(patients, ConsentBenchmark.PER_PATIENT);
      for (int i = 0; i < patients; i++) {
        add(http, ehr, tx, new Patient(), "Patient/bp" + i);
        add(http, ehr, tx, new RelatedPerson().setPatient(new Reference("Patient/bp" + i)), "RelatedPerson/rp" + i);
      }
      for (Consent c : consents) {
        Consent copy = c.copy();
        copy.setMeta(null);
        add(http, ehr, tx, copy, "Consent/" + c.getIdElement().getIdPart());
      }
      send(http, ehr, tx);
      System.out.printf("loaded %d Consents into the sandbox EHR in %d s%n", consents.size(),
          (System.nanoTime() - t0) / 1_000_000_000);
      for (int round = 0; round < 2; round++) {
        for (int a = 1; a < args.length; a++) {
          ConsentIndex index = new ConsentIndex(FHIR, upstream, Integer.parseInt(args[a]));
          ConsentIndex.RebuildReport r = index.rebuild();
          System.out.printf("round %d, _count=%s: %d Consents, %d pages, %d ms%n", round, args[a], r.consents(),
              r.pages(), r.millis());
        }
      }
    }
  }

  private static void add(HttpClient http, SandboxEhr ehr, Bundle tx, Resource r, String ref) throws Exception {
    r.setId(ref.substring(ref.indexOf('/') + 1));
    tx.addEntry().setResource(r).getRequest().setMethod(Bundle.HTTPVerb.PUT).setUrl(ref);
    if (tx.getEntry().size() >= 1000) {
      send(http, ehr, tx);
    }
  }

  private static void send(HttpClient http, SandboxEhr ehr, Bundle tx) throws Exception {
    if (tx.getEntry().isEmpty()) {
      return;
    }
    HttpResponse<String> resp = http.send(HttpRequest.newBuilder(URI.create(ehr.baseUrl().toString()))
        .header("Content-Type", "application/fhir+json").timeout(Duration.ofMinutes(10))
        .POST(HttpRequest.BodyPublishers.ofString(FHIR.newJsonParser().encodeResourceToString(tx))).build(),
        HttpResponse.BodyHandlers.ofString());
    if (resp.statusCode() != 200) {
      throw new IllegalStateException("transaction failed: " + resp.statusCode() + " "
          + resp.body().substring(0, Math.min(500, resp.body().length())));
    }
    tx.getEntry().clear();
  }
}
