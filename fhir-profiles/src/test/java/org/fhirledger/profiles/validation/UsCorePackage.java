package org.fhirledger.profiles.validation;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.hl7.fhir.utilities.npm.NpmPackage;

/** US Core 6.1.0 from {@code ../shared/testdata/fhir-packages}; tests that need it skip, saying so, when it is absent. */
public final class UsCorePackage {

  public static final String OBSERVATION_LAB = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab";
  public static final String DIAGNOSTIC_REPORT_LAB =
      "http://hl7.org/fhir/us/core/StructureDefinition/us-core-diagnosticreport-lab";

  private UsCorePackage() {}

  /** The package file, or a skipped test that says the shared data is absent. */
  public static Path require() {
    String shared = System.getProperty("shared.dir");
    Path tgz = shared == null ? null : Path.of(shared, "testdata", "fhir-packages", "hl7.fhir.us.core-6.1.0.tgz");
    if (!(tgz != null && Files.isRegularFile(tgz))) {
      // Said on the console too: a skip in @BeforeAll shows up in Surefire's summary as no tests at all.
      String absent = "shared test data absent: no US Core 6.1.0 package at "
        + (tgz == null ? "(no shared.dir system property)" : tgz) + "; US Core validation not tested";
      System.out.println(absent);
      assumeTrue(false, absent);
    }
    return tgz;
  }

  /** The package's examples whose file names start with {@code prefix}, by file name, as JSON text. */
  public static Map<String, String> examples(Path tgz, String prefix) {
    try (InputStream in = Files.newInputStream(tgz)) {
      NpmPackage pkg = NpmPackage.fromPackage(in);
      NpmPackage.NpmPackageFolder folder = pkg.getFolders().get("example");
      Map<String, String> out = new TreeMap<>();
      for (String file : folder.listFiles()) {
        if (file.startsWith(prefix) && file.endsWith(".json")) {
          out.put(file, new String(folder.fetchFile(file), StandardCharsets.UTF_8));
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
