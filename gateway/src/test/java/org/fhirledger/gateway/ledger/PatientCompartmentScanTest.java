package org.fhirledger.gateway.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.junit.jupiter.api.Test;

/**
 * The streaming scan names exactly the patients that the full HAPI parse names: over the US Core 6.1.0 examples and
 * the Inferno US Core bundles in {@code ../shared} (each alone, and all of them as searchsets the way the sandbox EHR
 * answers), and over hand-made edge cases. Skips the shared data, saying so, when it is absent.
 */
class PatientCompartmentScanTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final String JSON = "application/fhir+json;charset=utf-8";
  private final FhirContent content = new FhirContent(FHIR);
  private final PatientCompartmentScan scan = new PatientCompartmentScan(FHIR);

  @Test
  void usCoreExamples_sameAsParsed_aloneAndAsSearchsets() throws IOException {
    Map<String, byte[]> examples = usCoreExamples();
    int scanned = 0;
    int withPatients = 0;
    for (Map.Entry<String, byte[]> e : examples.entrySet()) {
      scanned += compare(e.getKey(), e.getValue()) ? 1 : 0;
      withPatients += content.parsedPatients(e.getValue(), JSON).isEmpty() ? 0 : 1;
    }
    System.out.printf("US Core examples: %d, scanned without a parse %d, disclosing patients %d; unscannable types %s%n",
        examples.size(), scanned, withPatients, scan.unscannableTypes());
    assertThat(examples).hasSizeGreaterThan(50);
    assertThat(withPatients).isGreaterThan(20);
    assertThat(scanned).isGreaterThan(examples.size() * 8 / 10);

    List<Resource> resources = new ArrayList<>();
    IParser parser = FHIR.newJsonParser();
    for (byte[] json : examples.values()) {
      IBaseResource r = parser.parseResource(new String(json, StandardCharsets.UTF_8));
      if (r instanceof Resource resource && !(r instanceof Bundle)) {
        resources.add(resource);
      }
    }
    for (int from = 0; from < resources.size(); from += 10) {
      byte[] page = searchset(resources.subList(from, Math.min(resources.size(), from + 10)));
      assertThat(compare("searchset page at " + from, page)).as("a searchset page is scanned").isTrue();
    }
    byte[] all = searchset(resources);
    assertThat(compare("searchset of all", all)).isTrue();
    assertThat(scan.patients(all)).hasValueSatisfying(p -> assertThat(p).hasSizeGreaterThan(1));
  }

  @Test
  void infernoBundles_sameAsParsed() throws IOException {
    Path dir = shared().resolve("fhir-bundles");
    assumeTrue(Files.isDirectory(dir) || say("shared test data absent: no Inferno bundles at " + dir));
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(f -> f.toString().endsWith(".json")).sorted().toList();
    }
    assertThat(files).isNotEmpty();
    for (Path f : files) {
      byte[] json = Files.readAllBytes(f);
      compare(f.getFileName().toString(), json);
      assertThat(content.disclosedPatients(json, JSON)).isNotEmpty();
    }
  }

  @Test
  void edgeCases_sameAsParsed() {
    String[] bodies = {
        // Plain, absolute, versioned references; subject and performer; a Practitioner performer.
        """
        {"resourceType":"Observation","id":"o1","status":"final","code":{"text":"x"},
         "subject":{"reference":"Patient/p1"},"performer":[{"reference":"Practitioner/d1"},
         {"reference":"http://ehr.example/fhir/Patient/p2/_history/3"}]}""",
        // A group: member.entity has no type filter in HAPI; a Practitioner member is not a patient.
        """
        {"resourceType":"Group","id":"g","type":"person","actual":true,
         "member":[{"entity":{"reference":"Patient/p3"}},{"entity":{"reference":"Practitioner/d2"}}]}""",
        // A contained patient reference and a urn reference: parsed.
        """
        {"resourceType":"Observation","status":"final","code":{"text":"x"},
         "contained":[{"resourceType":"Patient","id":"c1"}],"subject":{"reference":"#c1"}}""",
        """
        {"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"reference":"urn:uuid:8a7b2f64-2f1e-4c1b-9d0b-1a2b3c4d5e6f"}}""",
        // Identifier-only and display-only references name nobody.
        """
        {"resourceType":"Observation","status":"final","code":{"text":"x"},"subject":{"identifier":{"value":"123"}},
         "performer":[{"display":"Dr X"}]}""",
        // resourceType last: parsed.
        """
        {"id":"p9","resourceType":"Patient"}""",
        // Searchset: fullUrl agrees with id; a Patient without fullUrl; nested bundle; an OperationOutcome entry.
        """
        {"resourceType":"Bundle","type":"searchset","entry":[
         {"fullUrl":"http://gw.example/fhir/Patient/p4","resource":{"resourceType":"Patient","id":"p4"}},
         {"resource":{"resourceType":"Patient","id":"p5"}},
         {"resource":{"resourceType":"Bundle","type":"collection","entry":[
           {"resource":{"resourceType":"Encounter","status":"finished","class":{"code":"AMB"},"subject":{"reference":"Patient/p6"}}}]}},
         {"resource":{"resourceType":"OperationOutcome","issue":[{"severity":"information","code":"informational"}]}},
         {"fullUrl":"http://gw.example/fhir/Observation/o2","resource":{"resourceType":"Observation","status":"final",
          "code":{"text":"x"},"subject":{"reference":"Patient/p7"}},"search":{"mode":"include"}}]}""",
        // fullUrl and id disagree, a urn fullUrl: parsed (HAPI's parser puts the fullUrl in place of the id).
        """
        {"resourceType":"Bundle","type":"searchset","entry":[
         {"fullUrl":"http://gw.example/fhir/Patient/other","resource":{"resourceType":"Patient","id":"p8"}}]}""",
        """
        {"resourceType":"Bundle","type":"transaction-response","entry":[
         {"fullUrl":"urn:uuid:8a7b2f64-2f1e-4c1b-9d0b-1a2b3c4d5e6f","resource":{"resourceType":"Patient"}}]}""",
        // Not FHIR, not JSON, an OperationOutcome.
        """
        {"resourceType":"NotAType","subject":{"reference":"Patient/p1"}}""",
        "not json",
        """
        {"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"processing"}]}""",
    };
    for (String body : bodies) {
      compare(body, body.getBytes(StandardCharsets.UTF_8));
    }
    // Observation.performer has no type filter in HAPI's R4 compartment definition: a Practitioner there is not
    // named as a patient (it once was, as Patient/d1).
    assertThat(scan.patients(bodies[0].getBytes(StandardCharsets.UTF_8)))
        .contains(Set.of("Patient/p1", "Patient/p2"));
    assertThat(scan.patients(bodies[1].getBytes(StandardCharsets.UTF_8)))
        .contains(Set.of("Patient/p3"));
    assertThat(scan.patients(bodies[2].getBytes(StandardCharsets.UTF_8))).isEmpty();
    assertThat(scan.patients(bodies[6].getBytes(StandardCharsets.UTF_8)))
        .contains(Set.of("Patient/p4", "Patient/p5", "Patient/p6", "Patient/p7"));
    assertThat(scan.patients(bodies[7].getBytes(StandardCharsets.UTF_8))).isEmpty();
  }

  /** Asserts that the scan, when it answers, agrees with the parse; returns whether it answered. */
  private boolean compare(String name, byte[] json) {
    Set<String> parsed = content.parsedPatients(json, JSON);
    Optional<Set<String>> scanned = scan.patients(json);
    scanned.ifPresent(s -> assertThat(s).as(name).isEqualTo(parsed));
    assertThat(content.disclosedPatients(json, JSON)).as(name).isEqualTo(parsed);
    return scanned.isPresent();
  }

  /** A searchset page as HAPI's server encodes one: absolute fullUrls, match mode. */
  private static byte[] searchset(List<Resource> resources) {
    Bundle b = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    b.setTotal(resources.size());
    for (Resource r : resources) {
      Resource copy = r.copy();
      Bundle.BundleEntryComponent e = b.addEntry().setResource(copy);
      if (copy.hasIdElement() && copy.getIdElement().hasIdPart()) {
        e.setFullUrl("http://ehr.example/fhir/" + copy.fhirType() + "/" + copy.getIdElement().getIdPart());
      }
      e.getSearch().setMode(Bundle.SearchEntryMode.MATCH);
    }
    return FHIR.newJsonParser().encodeResourceToString(b).getBytes(StandardCharsets.UTF_8);
  }

  private static Map<String, byte[]> usCoreExamples() throws IOException {
    Path tgz = shared().resolve("fhir-packages/hl7.fhir.us.core-6.1.0.tgz");
    assumeTrue(Files.isRegularFile(tgz) || say("shared test data absent: no US Core 6.1.0 package at " + tgz
        + "; the scan is compared on the edge cases only"));
    try (InputStream in = Files.newInputStream(tgz)) {
      NpmPackage.NpmPackageFolder folder = NpmPackage.fromPackage(in).getFolders().get("example");
      Map<String, byte[]> out = new LinkedHashMap<>();
      for (String file : folder.listFiles()) {
        if (file.endsWith(".json")) {
          out.put(file, folder.fetchFile(file));
        }
      }
      return out;
    }
  }

  private static Path shared() {
    String dir = System.getProperty("shared.dir");
    return Path.of(dir == null ? "../shared" : dir, "testdata");
  }

  /** Says why a test skips (a skip's reason is not in Surefire's console summary); always false. */
  private static boolean say(String message) {
    System.out.println(message);
    return false;
  }
}
