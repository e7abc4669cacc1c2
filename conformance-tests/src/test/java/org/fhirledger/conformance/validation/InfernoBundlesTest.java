package org.fhirledger.conformance.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.stream.Stream;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Inferno US Core reference bundles ({@code ../shared/testdata/fhir-bundles}) through a gateway in the default
 * mode (warn) with US Core 6.1.0 loaded. Unchanged, they reach the sandbox EHR and are refused by it: each PUTs
 * {@code Patient/<number>}, and HAPI JPA accepts client-assigned ids only with a non-numeric character. With only
 * that id made alphanumeric, every bundle is stored whole; what the validator finds in them (the data holds flaws,
 * such as an {@code effectivePeriod.stop}) comes back in {@code X-Validation-Issues}. Skips, saying so, when the shared data is absent.
 */
class InfernoBundlesTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final RawHttp HTTP = new RawHttp(null, TestIssuer.suiteToken());
  private static Path shared;
  private static RunningGateway gateway;

  @BeforeAll
  static void start() {
    String dir = System.getProperty("shared.dir");
    shared = dir == null ? null : Path.of(dir, "testdata");
    boolean present = shared != null && Files.isDirectory(shared.resolve("fhir-bundles"))
        && Files.isRegularFile(shared.resolve("fhir-packages/hl7.fhir.us.core-6.1.0.tgz"));
    if (!(present)) {
      // Said on the console too: a skip in @BeforeAll shows up in Surefire's summary as no tests at all.
      String absent = "shared test data absent: no Inferno bundles or US Core package under "
        + (shared == null ? "(no shared.dir system property)" : shared) + "; Inferno bundles not tested";
      System.out.println(absent);
      assumeTrue(false, absent);
    }
    gateway = RunningGateway.start(RunningGateway.newDataDir("inferno"),
        "gateway.validation.package-dir=" + shared.resolve("fhir-packages"));
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void transaction_infernoBundlesUnchanged_acceptedAndStoredWhole() throws IOException {
    String ehr = gateway.bean(SandboxEhr.class).baseUrl().toString();
    for (Path file : bundles()) {
      ObjectNode bundle = (ObjectNode) new ObjectMapper().readTree(file.toFile());
      List<String> puts = new ArrayList<>();
      for (JsonNode entry : bundle.get("entry")) {
        JsonNode request = entry.get("request");
        if ("PUT".equals(request.path("method").asText())) {
          puts.add(request.path("url").asText());
        }
      }

      RawHttp.Response r = post(Files.readAllBytes(file));

      assertEquals(200, r.status(), () -> file.getFileName() + ": " + r.text());
      Bundle response = FHIR.newJsonParser().parseResource(Bundle.class, r.text());
      assertEquals(bundle.get("entry").size(), response.getEntry().size(), file.getFileName().toString());
      response.getEntry().forEach(e -> assertTrue(e.getResponse().getStatus().startsWith("20"),
          () -> file.getFileName() + ": " + e.getResponse().getStatus()));
      for (String url : puts) {
        assertEquals(200, HTTP.get(ehr + "/" + url).status(), () -> url + " not stored");
      }
      System.out.println(file.getFileName() + ": " + r.header("X-Validation-Issues").orElse("no issues"));
    }
  }


  private static List<Path> bundles() throws IOException {
    try (Stream<Path> files = Files.list(shared.resolve("fhir-bundles"))) {
      List<Path> bundles = files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
      assertTrue(bundles.size() >= 3, bundles::toString);
      return bundles;
    }
  }

  private static RawHttp.Response post(byte[] body) {
    // Hundreds of entries, each validated and then stored by the EHR: minutes on a loaded 2-core machine.
    return HTTP.send(RawHttp.request(gateway.baseUrl()).timeout(java.time.Duration.ofMinutes(10))
        .header("Content-Type", "application/fhir+json")
        .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(body)).build());
  }
}
