package org.fhirledger.conformance.bench;

import java.net.URI;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.fhirledger.profiles.GatewayProfiles;

/**
 * The interactions measured, each separately. Every request draws its target from the seeded data
 * with the worker's own random generator, so direct and gateway runs see the same distribution.
 *
 * <p>One iteration of a workload is one {@link #request} and, when {@link #followUp} says so, a second request
 * built from the first one's answer; the load generator times and counts the two together as one request.
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
  CREATE("create", "POST Patient / POST Observation (subject = seeded Patient), alternating", 0.9),
  /**
   * The creates of {@link #CREATE}, each with the Provenance issue #4 requires for every write through the
   * gateway. Through the gateway the client sends only the create (the gateway stores the Provenance itself);
   * directly, the client then stores that Provenance itself ({@link #provenanceJson}, the gateway's shape),
   * as a client without the gateway would have to. Its ratio is therefore the gateway's overhead beyond the
   * work issue #4 mandates, and is NOT issue #4's create ratio (that is {@link #CREATE}'s): no target.
   */
  CREATE_PROVENANCE("create-provenance",
      "POST Patient / POST Observation as in create; direct: + POST Provenance of the created version "
          + "(what the gateway stores); gateway: the create only",
      Double.NaN);

  static final String FHIR_JSON = "application/fhir+json";

  /** Fixed synthetic ledger receipt in the direct Provenances: no ledger exists on the direct target. */
  static final String SYNTHETIC_ORIGIN = "localhost/ledger";
  static final long SYNTHETIC_LEDGER_INDEX = 1_000_000L;
  /** Base64 of 32 bytes, as long as a real RFC 6962 leaf hash. */
  static final String SYNTHETIC_LEAF_HASH = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  /** The client id the gateway records with security off (the benchmark sends no tokens). */
  static final String CLIENT_ID = "anonymous";

  /** {@code [base/]Type/id/_history/version}, as a create's Location header names the new version. */
  private static final Pattern VERSIONED_LOCATION =
      Pattern.compile("(?:^|/)([A-Z][A-Za-z]{1,63})/([A-Za-z0-9\\-.]{1,64})/_history/([A-Za-z0-9\\-.]{1,64})$");

  final String label;
  final String description;
  /** The target for gateway/direct throughput; NaN when the workload has none. */
  final double target;

  Workload(String label, String description, double target) {
    this.label = label;
    this.description = description;
    this.target = target;
  }

  boolean hasTarget() {
    return !Double.isNaN(target);
  }

  /** Whether every counted request of this workload leaves exactly one new Provenance in the EHR, on both targets. */
  boolean storesOneProvenancePerRequest() {
    return this == CREATE_PROVENANCE;
  }

  /** The workload with this {@code --workloads} label. */
  static Workload byLabel(String label) {
    for (Workload w : values()) {
      if (w.label.equals(label)) {
        return w;
      }
    }
    throw new IllegalArgumentException("unknown workload '" + label + "' (known: "
        + Arrays.stream(values()).map(w -> w.label).collect(Collectors.joining(",")) + ")");
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
      case CREATE, CREATE_PROVENANCE -> {
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

  /**
   * The second request of an iteration, sent after {@link #request} was answered 2xx with {@code answer}'s
   * headers, or empty when the iteration is that one request. For {@link #CREATE_PROVENANCE} on the direct
   * target: {@code POST Provenance} of the version the create's Location header names, with
   * {@code Prefer: return=minimal}, as the gateway sends it.
   *
   * @throws IllegalStateException when the create's answer names no version (FHIR requires a Location
   *     {@code Type/id/_history/vid} on create)
   */
  Optional<HttpRequest> followUp(GatewayBenchmark.Target target, URI base, HttpHeaders answer, Duration timeout) {
    if (this != CREATE_PROVENANCE || target != GatewayBenchmark.Target.DIRECT) {
      return Optional.empty();
    }
    String location = answer.firstValue("Location")
        .orElseThrow(() -> new IllegalStateException("the create's answer has no Location header"));
    String body = provenanceJson(versionedReference(location), Instant.now());
    return Optional.of(HttpRequest.newBuilder(URI.create(base + "/Provenance"))
        .timeout(timeout)
        .header("Content-Type", FHIR_JSON + "; charset=UTF-8")
        .header("Accept", FHIR_JSON)
        .header("Prefer", "return=minimal")
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8))
        .build());
  }

  /**
   * {@code Type/id/_history/vid} from a create's Location header ({@code http://host/fhir/Patient/12/_history/1}).
   *
   * @throws IllegalStateException when it names no version
   */
  static String versionedReference(String location) {
    Matcher m = VERSIONED_LOCATION.matcher(location);
    if (!m.find()) {
      throw new IllegalStateException("the create's Location names no version: " + SeedData.abbreviate(location));
    }
    return m.group(1) + "/" + m.group(2) + "/_history/" + m.group(3);
  }

  /**
   * The Provenance the gateway stores for the create of {@code versionedTarget} (its
   * {@code ProvenanceWriter.provenanceOf} for a CREATE by the benchmark's anonymous client), with the fixed
   * synthetic ledger receipt {@link #SYNTHETIC_ORIGIN} / {@link #SYNTHETIC_LEDGER_INDEX} /
   * {@link #SYNTHETIC_LEAF_HASH}. Built as a string so that the load generator spends no more CPU on it than
   * on the create's own body.
   */
  static String provenanceJson(String versionedTarget, Instant recorded) {
    return "{\"resourceType\":\"Provenance\","
        + "\"meta\":{\"profile\":[\"" + GatewayProfiles.GATEWAY_PROVENANCE + "\"]},"
        + "\"extension\":[{\"url\":\"" + GatewayProfiles.LEDGER_RECEIPT + "\",\"extension\":["
        + "{\"url\":\"origin\",\"valueString\":\"" + SYNTHETIC_ORIGIN + "\"},"
        + "{\"url\":\"index\",\"valueString\":\"" + SYNTHETIC_LEDGER_INDEX + "\"},"
        + "{\"url\":\"leafHash\",\"valueBase64Binary\":\"" + SYNTHETIC_LEAF_HASH + "\"}]}],"
        + "\"target\":[{\"reference\":\"" + versionedTarget + "\"}],"
        + "\"recorded\":\"" + recorded.truncatedTo(ChronoUnit.MILLIS) + "\","
        + "\"activity\":{\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-DataOperation\","
        + "\"code\":\"CREATE\",\"display\":\"create\"}]},"
        + "\"agent\":[{\"type\":{\"coding\":[{"
        + "\"system\":\"http://terminology.hl7.org/CodeSystem/provenance-participant-type\","
        + "\"code\":\"author\",\"display\":\"Author\"}]},"
        + "\"who\":{\"identifier\":{\"system\":\"" + GatewayProfiles.CLIENT_ID_SYSTEM + "\",\"value\":\""
        + CLIENT_ID + "\"},\"display\":\"" + CLIENT_ID + "\"}}]}";
  }
}
