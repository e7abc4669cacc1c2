package org.fhirledger.conformance.validation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ca.uhn.fhir.context.FhirContext;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.fhirledger.conformance.RawHttp;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Labs posting results through a gateway that rejects what does not conform, with US Core 6.1.0 loaded from
 * {@code ../shared/testdata/fhir-packages}: the package's own lab examples are accepted; broken lab results (missing category, wrong status, missing subject, bad unit) are refused with 422
 * naming the element, alone or inside a transaction, and the EHR stays unchanged. Skips, saying so, when the shared
 * data is absent.
 */
class UsCoreLabResultsTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String FHIR_JSON = "application/fhir+json";
  private static final String MRN_SYSTEM = "http://hospital.smarthealthit.org";
  private static final String MRN = "1032702";
  private static final RawHttp HTTP = new RawHttp(null, TestIssuer.suiteToken());

  private static Path shared;
  private static Map<String, String> examples;
  private static RunningGateway gateway;
  private static String base;
  private static String ehr;

  @BeforeAll
  static void startGatewayWithUsCore() {
    String dir = System.getProperty("shared.dir");
    shared = dir == null ? null : Path.of(dir, "testdata");
    Path usCore = shared == null ? null : shared.resolve("fhir-packages/hl7.fhir.us.core-6.1.0.tgz");
    if (!(usCore != null && Files.isRegularFile(usCore))) {
      // Said on the console too: a skip in @BeforeAll shows up in Surefire's summary as no tests at all.
      String absent = "shared test data absent: no US Core 6.1.0 package at "
        + (usCore == null ? "(no shared.dir system property)" : usCore) + "; lab result validation not tested";
      System.out.println(absent);
      assumeTrue(false, absent);
    }
    examples = examples(usCore);
    gateway = RunningGateway.start(RunningGateway.newDataDir("uscore-labs"),
        "gateway.validation.default-mode=reject",
        "gateway.validation.package-dir=" + usCore.getParent());
    base = gateway.baseUrl();
    ehr = gateway.bean(SandboxEhr.class).baseUrl().toString();
    put("Patient-example.json");
    put("Organization-acme-lab.json");
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  @Test
  void put_usCoreLabExamples_accepted() {
    List<String> lab = examples.keySet().stream()
        .filter(n -> n.startsWith("Observation-cbc-") || n.startsWith("Observation-serum-")).toList();
    assertTrue(lab.size() >= 17, lab::toString);

    put("Specimen-specimen-example-serum.json");
    for (String name : lab) {
      put(name);
    }
    put("DiagnosticReport-cbc.json");
    put("DiagnosticReport-metabolic-panel.json");
  }

  @Test
  void put_labObservationWithoutCategory_422AtCategoryEhrUnchanged() {
    assertRefused(o -> o.remove("category"), "Observation.category");
  }

  @Test
  void put_labObservationWithWrongStatus_422AtStatusEhrUnchanged() {
    assertRefused(o -> o.put("status", "done"), "Observation.status");
  }

  @Test
  void put_labObservationWithoutSubject_422AtSubjectEhrUnchanged() {
    assertRefused(o -> o.remove("subject"), "Observation.subject");
  }

  @Test
  void put_labObservationWithBadUnit_422AtValueEhrUnchanged() {
    assertRefused(o -> ((ObjectNode) o.get("valueQuantity")).put("code", "gram per decilitre"), "Observation.value");
  }

  @Test
  void transaction_labReportWithConditionalPatientReference_acceptedAndStored() {
    String order = UUID.randomUUID().toString();

    RawHttp.Response r = HTTP.send("POST", base, FHIR_JSON, labTransaction(order, o -> { }));

    assertEquals(200, r.status(), r.text());
    Bundle response = FHIR.newJsonParser().parseResource(Bundle.class, r.text());
    assertEquals(4, response.getEntry().size());
    response.getEntry().forEach(e -> assertTrue(e.getResponse().getStatus().startsWith("201"), e.getResponse().getStatus()));
    assertEquals(1, count("/DiagnosticReport?identifier=urn:test:lab-order%7C" + order));
    assertEquals(2, count("/Observation?identifier=urn:test:lab-order%7C" + order
        + "&subject:Patient.identifier=" + MRN_SYSTEM + "%7C" + MRN));
  }

  @Test
  void transaction_oneObservationWithoutCategory_422NamesTheEntryAndNothingWritten() {
    String order = UUID.randomUUID().toString();

    RawHttp.Response r = HTTP.send("POST", base, FHIR_JSON, labTransaction(order, o -> o.remove("category")));

    assertEquals(422, r.status(), r.text());
    List<String> expressions = WriteValidationTest.expressions(r);
    assertTrue(expressions.contains("Bundle.entry[2].resource.category"), expressions::toString);
    assertTrue(expressions.stream().allMatch(e -> e.startsWith("Bundle.entry[2].")), expressions::toString);
    assertEquals(0, count("/DiagnosticReport?identifier=urn:test:lab-order%7C" + order));
    assertEquals(0, count("/Observation?identifier=urn:test:lab-order%7C" + order));
    assertEquals(0, count("/Specimen?identifier=urn:test:lab-order%7C" + order));
  }

  /** A lab's result: Specimen, two Observations and their DiagnosticReport; the Patient found by MRN. */
  private static byte[] labTransaction(String order, Consumer<ObjectNode> changeSecondObservation) {
    String specimenUrl = "urn:uuid:" + UUID.randomUUID();
    String hemoglobinUrl = "urn:uuid:" + UUID.randomUUID();
    String hematocritUrl = "urn:uuid:" + UUID.randomUUID();
    String patient = "Patient?identifier=" + MRN_SYSTEM + "|" + MRN;

    ObjectNode specimen = example("Specimen-specimen-example-serum.json");
    ObjectNode hemoglobin = example("Observation-cbc-hemoglobin.json");
    ObjectNode hematocrit = example("Observation-cbc-hematocrit.json");
    ObjectNode report = example("DiagnosticReport-cbc.json");
    for (ObjectNode r : List.of(specimen, hemoglobin, hematocrit, report)) {
      r.remove("id");
      r.remove("text");
      r.putArray("identifier").addObject().put("system", "urn:test:lab-order").put("value", order);
      ((ObjectNode) r.get("subject")).put("reference", patient);
    }
    for (ObjectNode o : List.of(hemoglobin, hematocrit)) {
      o.putObject("specimen").put("reference", specimenUrl);
    }
    changeSecondObservation.accept(hematocrit);
    ArrayNode results = report.putArray("result");
    results.addObject().put("reference", hemoglobinUrl);
    results.addObject().put("reference", hematocritUrl);
    report.putArray("specimen").addObject().put("reference", specimenUrl);

    ObjectNode bundle = JSON.createObjectNode().put("resourceType", "Bundle").put("type", "transaction");
    ArrayNode entries = bundle.putArray("entry");
    addEntry(entries, specimenUrl, specimen);
    addEntry(entries, hemoglobinUrl, hemoglobin);
    addEntry(entries, hematocritUrl, hematocrit);
    addEntry(entries, "urn:uuid:" + UUID.randomUUID(), report);
    return bundle.toString().getBytes(StandardCharsets.UTF_8);
  }

  private static void addEntry(ArrayNode entries, String fullUrl, ObjectNode resource) {
    ObjectNode entry = entries.addObject().put("fullUrl", fullUrl);
    entry.set("resource", resource);
    entry.putObject("request").put("method", "POST").put("url", resource.get("resourceType").asText());
  }

  private static void assertRefused(Consumer<ObjectNode> change, String element) {
    ObjectNode observation = example("Observation-cbc-hemoglobin.json");
    String id = "refused-" + UUID.randomUUID().toString().substring(0, 8);
    observation.put("id", id);
    change.accept(observation);

    RawHttp.Response r = HTTP.send("PUT", base + "/Observation/" + id, FHIR_JSON,
        observation.toString().getBytes(StandardCharsets.UTF_8));

    assertEquals(422, r.status(), r.text());
    List<String> expressions = WriteValidationTest.expressions(r);
    assertTrue(expressions.stream().anyMatch(e -> e.startsWith(element)), expressions::toString);
    assertEquals(404, HTTP.get(ehr + "/Observation/" + id).status(), "the EHR must not have it");
  }

  private static void put(String exampleName) {
    ObjectNode resource = example(exampleName);
    String url = base + "/" + resource.get("resourceType").asText() + "/" + resource.get("id").asText();
    RawHttp.Response r = HTTP.send("PUT", url, FHIR_JSON, resource.toString().getBytes(StandardCharsets.UTF_8));
    assertTrue(r.status() == 200 || r.status() == 201, () -> exampleName + ": " + r.status() + " " + r.text());
  }

  private static int count(String search) {
    return FHIR.newJsonParser().parseResource(Bundle.class, HTTP.get(ehr + search + "&_summary=count").text())
        .getTotal();
  }

  private static ObjectNode example(String name) {
    try {
      return (ObjectNode) JSON.readTree(examples.get(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Map<String, String> examples(Path tgz) {
    try (InputStream in = Files.newInputStream(tgz)) {
      NpmPackage.NpmPackageFolder folder = NpmPackage.fromPackage(in).getFolders().get("example");
      Map<String, String> out = new TreeMap<>();
      for (String file : folder.listFiles()) {
        out.put(file, new String(folder.fetchFile(file), StandardCharsets.UTF_8));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
