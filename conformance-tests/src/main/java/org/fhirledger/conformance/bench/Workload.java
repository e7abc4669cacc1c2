package org.fhirledger.conformance.bench;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * The three interactions measured, each separately. Every request draws its target from the seeded data
 * with the worker's own random generator, so direct and gateway runs see the same distribution.
 */
enum Workload {
  /** {@code GET Patient/{id}} of a random seeded Patient. */
  READ("read", "GET Patient/{id} (random seeded Patient)", 0.8),
  /**
   * Alternately {@code GET Patient?family={f}&_count=10} (each family has patients/10 members, so the
   * bundle is a full page with a next link) and {@code GET Observation?subject=Patient/{id}&_count=10}.
   */
  SEARCH("search", "GET Patient?family=F&_count=10 / Observation?subject=Patient/ID&_count=10, alternating", 0.8),
  /** Alternately {@code POST Patient} and {@code POST Observation} (subject = a seeded Patient). */
  CREATE("create", "POST Patient / POST Observation (subject = seeded Patient), alternating", 0.9);

  static final String FHIR_JSON = "application/fhir+json";

  final String label;
  final String description;
  /** The target for gateway/direct throughput. */
  final double target;

  Workload(String label, String description, double target) {
    this.label = label;
    this.description = description;
    this.target = target;
  }

  HttpRequest request(URI base, SeedData seed, long seq, SplittableRandom rnd, Duration timeout) {
    String b = base.toString();
    HttpRequest.Builder r = HttpRequest.newBuilder().timeout(timeout).header("Accept", FHIR_JSON);
    switch (this) {
      case READ -> r.uri(URI.create(b + "/Patient/" + seed.randomPatient(rnd))).GET();
      case SEARCH -> {
        if ((seq & 1) == 0) {
          r.uri(URI.create(b + "/Patient?family=" + seed.randomFamily(rnd) + "&_count=10")).GET();
        } else {
          r.uri(URI.create(b + "/Observation?subject=Patient/" + seed.randomPatient(rnd) + "&_count=10")).GET();
        }
      }
      case CREATE -> {
        String body;
        if ((seq & 1) == 0) {
          r.uri(URI.create(b + "/Patient"));
          body = SeedData.patientJson("Benchcreate", "Given" + rnd.nextInt(1_000_000), rnd.nextInt(1, 28));
        } else {
          r.uri(URI.create(b + "/Observation"));
          body = SeedData.observationJson("Patient/" + seed.randomPatient(rnd), 60 + rnd.nextInt(60));
        }
        r.header("Content-Type", FHIR_JSON).POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
      }
      default -> throw new AssertionError(this);
    }
    return r.build();
  }
}
