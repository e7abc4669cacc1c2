package org.fhirledger.profiles.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.hl7.fhir.common.hapi.validation.support.NpmPackageValidationSupport;
import org.hl7.fhir.utilities.npm.NpmPackage;

/**
 * HAPI's {@link NpmPackageValidationSupport}, able to load FHIR NPM packages from any stream (a file in the
 * configured package directory) as well as from the classpath. Only conformance resources are loaded
 * (StructureDefinition, ValueSet, CodeSystem); examples are not.
 *
 * <p>Load every package before the support is used for validation; not thread-safe while loading, thread-safe
 * to read afterwards (as {@link org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport}).
 */
public final class FhirPackageSupport extends NpmPackageValidationSupport {

  private static final Set<String> CONFORMANCE_TYPES = Set.of("StructureDefinition", "ValueSet", "CodeSystem");

  private final List<String> loaded = new ArrayList<>();

  public FhirPackageSupport(FhirContext fhirContext) {
    super(fhirContext);
  }

  /**
   * Loads the package in {@code tgz} (a FHIR NPM package, gzipped tar).
   *
   * @return the package's {@code name#version}
   * @throws IOException if the stream cannot be read or is not a FHIR package
   */
  public String loadPackage(InputStream tgz) throws IOException {
    NpmPackage pkg = NpmPackage.fromPackage(tgz);
    NpmPackage.NpmPackageFolder folder = pkg.getFolders().get("package");
    if (folder == null) {
      throw new IOException("not a FHIR package: no package/ folder");
    }
    IParser parser = getFhirContext().newJsonParser();
    for (String file : pkg.listResources(CONFORMANCE_TYPES)) {
      byte[] bytes = folder.fetchFile(file);
      if (bytes != null) {
        addResource(parser.parseResource(new String(bytes, StandardCharsets.UTF_8)));
      }
    }
    String id = pkg.name() + "#" + pkg.version();
    loaded.add(id);
    return id;
  }

  /** The packages loaded through {@link #loadPackage}, as {@code name#version}, in load order. */
  public List<String> loadedPackages() {
    return List.copyOf(loaded);
  }
}
