package org.fhirledger.conformance.bench;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import org.hl7.fhir.r4.model.Bundle;

/**
 * The synthetic data the reads and searches hit: Patients spread evenly over ten family names, each with a
 * few Observations. Seeded once, directly into the EHR, with transaction bundles; the ids are kept.
 */
final class SeedData {

  static final String[] FAMILIES = {
    "Benchalpha", "Benchbravo", "Benchcharlie", "Benchdelta", "Benchecho",
    "Benchfoxtrot", "Benchgolf", "Benchhotel", "Benchindia", "Benchjuliet"
  };
  private static final int PATIENTS_PER_BUNDLE = 25;

  private final String[] patientIds;

  private SeedData(String[] patientIds) {
    this.patientIds = patientIds;
  }

  String randomPatient(SplittableRandom rnd) {
    return patientIds[rnd.nextInt(patientIds.length)];
  }

  String randomFamily(SplittableRandom rnd) {
    return FAMILIES[rnd.nextInt(FAMILIES.length)];
  }

  int patientCount() {
    return patientIds.length;
  }

  static SeedData seed(HttpClient http, URI ehrBase, int patients, int observationsPerPatient)
      throws IOException, InterruptedException {
    FhirContext fhir = FhirContext.forR4Cached();
    List<String> ids = new ArrayList<>(patients);
    for (int start = 0; start < patients; start += PATIENTS_PER_BUNDLE) {
      int n = Math.min(PATIENTS_PER_BUNDLE, patients - start);
      StringBuilder entries = new StringBuilder();
      for (int i = 0; i < n; i++) {
        int p = start + i;
        String patientUrn = "urn:uuid:" + UUID.randomUUID();
        appendEntry(entries, patientUrn, "Patient",
            patientJson(FAMILIES[p % FAMILIES.length], "Seed" + p, 1 + p % 28));
        for (int o = 0; o < observationsPerPatient; o++) {
          appendEntry(entries, "urn:uuid:" + UUID.randomUUID(), "Observation",
              observationJson(patientUrn, 60 + (p + o) % 60));
        }
      }
      String bundle = "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":[" + entries + "]}";
      HttpResponse<String> resp = http.send(HttpRequest.newBuilder(ehrBase)
              .timeout(Duration.ofMinutes(2))
              .header("Content-Type", Workload.FHIR_JSON)
              .header("Accept", Workload.FHIR_JSON)
              .POST(HttpRequest.BodyPublishers.ofString(bundle, StandardCharsets.UTF_8))
              .build(),
          HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
      if (resp.statusCode() != 200) {
        throw new IOException("seeding transaction failed: HTTP " + resp.statusCode() + ": "
            + abbreviate(resp.body()));
      }
      Bundle result = fhir.newJsonParser().parseResource(Bundle.class, resp.body());
      for (Bundle.BundleEntryComponent e : result.getEntry()) {
        String location = e.getResponse().getLocation(); // Patient/123/_history/1
        if (location != null && location.startsWith("Patient/")) {
          ids.add(location.split("/")[1]);
        }
      }
    }
    if (ids.size() != patients) {
      throw new IOException("seeding created " + ids.size() + " Patients, expected " + patients);
    }
    return new SeedData(ids.toArray(String[]::new));
  }

  private static void appendEntry(StringBuilder sb, String fullUrl, String type, String resource) {
    if (!sb.isEmpty()) {
      sb.append(',');
    }
    sb.append("{\"fullUrl\":\"").append(fullUrl).append("\",\"resource\":").append(resource)
        .append(",\"request\":{\"method\":\"POST\",\"url\":\"").append(type).append("\"}}");
  }

  static String patientJson(String family, String given, int day) {
    return "{\"resourceType\":\"Patient\",\"active\":true,"
        + "\"identifier\":[{\"system\":\"urn:fhirledger:bench\",\"value\":\"" + UUID.randomUUID() + "\"}],"
        + "\"name\":[{\"family\":\"" + family + "\",\"given\":[\"" + given + "\"]}],"
        + "\"gender\":\"" + (day % 2 == 0 ? "female" : "male") + "\","
        + "\"birthDate\":\"1970-01-" + (day < 10 ? "0" : "") + day + "\"}";
  }

  static String observationJson(String subjectReference, int heartRate) {
    return "{\"resourceType\":\"Observation\",\"status\":\"final\","
        + "\"category\":[{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/observation-category\","
        + "\"code\":\"vital-signs\"}]}],"
        + "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\",\"display\":\"Heart rate\"}]},"
        + "\"subject\":{\"reference\":\"" + subjectReference + "\"},"
        + "\"effectiveDateTime\":\"2025-01-01T10:00:00Z\","
        + "\"valueQuantity\":{\"value\":" + heartRate + ",\"unit\":\"beats/minute\","
        + "\"system\":\"http://unitsofmeasure.org\",\"code\":\"/min\"}}";
  }

  static String abbreviate(String s) {
    return s == null ? "" : s.length() > 400 ? s.substring(0, 400) + "..." : s;
  }
}
