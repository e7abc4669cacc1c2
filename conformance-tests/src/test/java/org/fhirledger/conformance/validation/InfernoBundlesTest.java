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
import java.util.List;
import java.util.stream.Stream;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.hl7.fhir.r4.model.Bundle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Inferno US Core reference bundles ({@code ../shared/testdata/fhir-bundles}) through a gateway in the default
 * mode (warn) with US Core 6.1.0 loaded: each transaction reaches the sandbox EHR unchanged and is stored whole, and
 * what the validator finds in them (the data holds deliberate flaws, such as an {@code effectivePeriod.stop}) comes
 * back in {@code X-Validation-Issues}. Skips, saying so, when the shared data is absent.
 */
class InfernoBundlesTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final RawHttp HTTP = new RawHttp(null);
  private static Path shared;
  private static RunningGateway gateway;

  @BeforeAll
  static void start() {
    String dir = System.getProperty("shared.dir");
    shared = dir == null ? null : Path.of(dir, "testdata");
    boolean present = shared != null && Files.isDirectory(shared.resolve("fhir-bundles"))
        && Files.isRegularFile(shared.resolve("fhir-packages/hl7.fhir.us.core-6.1.0.tgz"));
    assumeTrue(present, "shared test data absent: no Inferno bundles or US Core package under "
        + (shared == null ? "(no shared.dir system property)" : shared) + "; Inferno bundles not tested");
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
  void transaction_infernoReferenceBundles_acceptedAndStoredWhole() throws IOException {
    List<Path> bundles;
    try (Stream<Path> files = Files.list(shared.resolve("fhir-bundles"))) {
      bundles = files.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
    }
    assertTrue(bundles.size() >= 3, bundles::toString);
    String ehr = gateway.bean(SandboxEhr.class).baseUrl().toString();

    for (Path file : bundles) {
      JsonNode sent = new ObjectMapper().readTree(file.toFile());

      // Hundreds of entries, each validated and then stored by the EHR: minutes on a loaded 2-core machine.
      RawHttp.Response r = HTTP.send(RawHttp.request(gateway.baseUrl()).timeout(java.time.Duration.ofMinutes(10))
          .header("Content-Type", "application/fhir+json")
          .POST(java.net.http.HttpRequest.BodyPublishers.ofByteArray(Files.readAllBytes(file))).build());

      assertEquals(200, r.status(), () -> file.getFileName() + ": " + r.text());
      Bundle response = FHIR.newJsonParser().parseResource(Bundle.class, r.text());
      assertEquals(sent.get("entry").size(), response.getEntry().size(), file.getFileName().toString());
      response.getEntry().forEach(e -> assertTrue(e.getResponse().getStatus().startsWith("20"),
          () -> file.getFileName() + ": " + e.getResponse().getStatus()));
      for (JsonNode entry : sent.get("entry")) {
        if ("PUT".equals(entry.path("request").path("method").asText())) {
          String url = entry.path("request").path("url").asText();
          assertEquals(200, HTTP.get(ehr + "/" + url).status(), () -> url + " not stored");
        }
      }
      System.out.println(file.getFileName() + ": " + r.header("X-Validation-Issues").orElse("no issues"));
    }
  }
}
