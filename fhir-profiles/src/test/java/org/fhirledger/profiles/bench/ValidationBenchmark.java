package org.fhirledger.profiles.bench;

import ca.uhn.fhir.context.FhirContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.fhirledger.profiles.validation.ResourceValidator;
import org.fhirledger.profiles.validation.ValidationIssue;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The cost of validating one typical lab result, as the gateway does on a write: US Core 6.1.0's hemoglobin
 * example (JSON text, as a client sends it) against us-core-observation-lab and FHIR R4, on one thread, after
 * warm-up. The validator is built once, as in the gateway. Needs {@code -Duscore.tgz=<path to
 * hl7.fhir.us.core-6.1.0.tgz>} (default: {@code ../shared/testdata/fhir-packages/} beside the repository).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 5)
@Measurement(iterations = 10, time = 5)
@Fork(value = 1, jvmArgsAppend = "-Xmx2g")
public class ValidationBenchmark {

  static final String OBSERVATION_LAB = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab";

  private ResourceValidator validator;
  private String hemoglobin;
  private List<String> profiles;

  @Setup
  public void build() throws IOException {
    Path tgz = Path.of(System.getProperty("uscore.tgz", "../../shared/testdata/fhir-packages/hl7.fhir.us.core-6.1.0.tgz"));
    if (!Files.isRegularFile(tgz)) {
      throw new IllegalStateException("US Core package not found at " + tgz.toAbsolutePath() + ": set -Duscore.tgz");
    }
    ResourceValidator.Builder builder = ResourceValidator.builder(FhirContext.forR4()).withGatewayPackage();
    try (InputStream in = Files.newInputStream(tgz)) {
      builder.addPackage(in);
    }
    try (InputStream in = Files.newInputStream(tgz)) {
      hemoglobin = new String(NpmPackage.fromPackage(in).getFolders().get("example")
          .fetchFile("Observation-cbc-hemoglobin.json"), StandardCharsets.UTF_8);
    }
    validator = builder.build();
    profiles = List.of(OBSERVATION_LAB);
    validator.warmUp(profiles);
    List<ValidationIssue> errors = validator.validate(hemoglobin, profiles).stream()
        .filter(i -> i.severity().isError()).toList();
    if (!errors.isEmpty()) {
      throw new IllegalStateException("the benchmark's Observation does not validate: " + errors);
    }
  }

  /** One lab Observation, as JSON text, against us-core-observation-lab. */
  @Benchmark
  public List<ValidationIssue> labObservationAgainstUsCore() {
    return validator.validate(hemoglobin, profiles);
  }
}
