package org.fhirledger.profiles;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.FhirVersionEnum;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.NpmPackageValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.r4.model.StructureDefinition;

/**
 * The gateway's own FHIR artifacts: the profiles and extensions it conforms to, and a HAPI
 * validation support chain that knows them beside the FHIR R4 core definitions.
 *
 * <p>Stateless; every method returns new objects. The chain is expensive to build and to warm up
 * (it generates snapshots on first use): build one per application and share it, it is thread-safe.
 */
public final class GatewayProfiles {

  /** Canonical base of the gateway's artifacts. */
  public static final String BASE = "https://fhirledger.org/fhir";
  /** Profile of the AuditEvents the gateway renders from its ledger. */
  public static final String LEDGER_AUDIT_EVENT = BASE + "/StructureDefinition/ledger-audit-event";
  /** Extension naming the ledger entry (origin, index) a resource was built from. */
  public static final String LEDGER_ENTRY = BASE + "/StructureDefinition/ledger-entry";
  /** Extension on a gateway Provenance: the ledger receipt (origin, index, leaf hash) of the write. */
  public static final String LEDGER_RECEIPT = BASE + "/StructureDefinition/ledger-receipt";
  /** Profile of the Provenance the gateway stores for every write through it. */
  public static final String GATEWAY_PROVENANCE = BASE + "/StructureDefinition/gateway-provenance";
  /** Profile of the patient-privacy Consents the gateway enforces (the subset it understands). */
  public static final String GATEWAY_CONSENT = BASE + "/StructureDefinition/gateway-consent";
  /** The gateway's CapabilityStatement (what it adds in front of an EHR), as published in its package. */
  public static final String CAPABILITY_STATEMENT = BASE + "/CapabilityStatement/fhir-ledger-gateway";
  /** Where the gateway's FHIR package is on the classpath (written by the fhir-profiles build). */
  public static final String PACKAGE_ON_CLASSPATH = "classpath:fhir-packages/org.fhirledger.gateway.tgz";
  /** Identifier system of OAuth client ids. */
  public static final String CLIENT_ID_SYSTEM = BASE + "/sid/client-id";
  /** Identifier system of a patient pseudonym (hex HMAC-SHA256, as written on the ledger). */
  public static final String PSEUDONYM_SYSTEM = BASE + "/sid/patient-pseudonym";
  /** Identifier system of a ledger's origin line (which names the gateway that keeps it). */
  public static final String LOG_ORIGIN_SYSTEM = BASE + "/sid/log-origin";

  private static final List<String> RESOURCES =
      List.of("StructureDefinition-ledger-entry.json", "StructureDefinition-ledger-audit-event.json",
          "StructureDefinition-ledger-receipt.json", "StructureDefinition-gateway-provenance.json",
          "StructureDefinition-gateway-consent.json");

  private GatewayProfiles() {}

  /**
   * The gateway's StructureDefinitions (differentials only), parsed fresh.
   *
   * @throws IllegalArgumentException unless {@code fhirContext} is R4
   * @throws UncheckedIOException if a packaged definition cannot be read (a broken build)
   */
  public static List<StructureDefinition> structureDefinitions(FhirContext fhirContext) {
    requireR4(fhirContext);
    List<StructureDefinition> out = new ArrayList<>();
    for (String name : RESOURCES) {
      try (InputStream in = GatewayProfiles.class.getResourceAsStream(name)) {
        if (in == null) {
          throw new UncheckedIOException(new IOException("missing packaged resource " + name));
        }
        out.add(fhirContext.newJsonParser().parseResource(StructureDefinition.class,
            new String(in.readAllBytes(), StandardCharsets.UTF_8)));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return out;
  }

  /**
   * A validation support chain of the FHIR R4 core definitions, in-memory terminology (with the
   * common code systems: languages, UCUM, MIME types, ...), snapshot generation, and the gateway's
   * own definitions as published: loaded from its FHIR package ({@code fhir-packages/org.fhirledger.gateway.tgz} on
   * the classpath) with HAPI's {@link NpmPackageValidationSupport}. It never calls a remote terminology server:
   * codes from systems it does not hold (for example DICOM) are reported as warnings, not errors.
   *
   * @throws UncheckedIOException if the package is not on the classpath (the fhir-profiles build writes it)
   */
  public static IValidationSupport validationSupport(FhirContext fhirContext) {
    requireR4(fhirContext);
    NpmPackageValidationSupport own = new NpmPackageValidationSupport(fhirContext);
    try {
      own.loadPackageFromClasspath(PACKAGE_ON_CLASSPATH);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new ValidationSupportChain(
        new DefaultProfileValidationSupport(fhirContext),
        own,
        new SnapshotGeneratingValidationSupport(fhirContext),
        new InMemoryTerminologyServerValidationSupport(fhirContext),
        new CommonCodeSystemsTerminologyService(fhirContext));
  }

  /**
   * Configures {@code fhirContext} to keep the version in {@code Provenance.target} references when it encodes.
   * HAPI strips versions from references by default, which would turn the gateway's versioned targets into
   * unversioned ones whenever a Provenance is serialized (including inside the validator). Returns its argument.
   */
  public static FhirContext keepVersionedProvenanceTargets(FhirContext fhirContext) {
    requireR4(fhirContext);
    java.util.Set<String> paths = new java.util.HashSet<>(fhirContext.getParserOptions().getDontStripVersionsFromReferencesAtPaths());
    paths.add("Provenance.target");
    fhirContext.getParserOptions().setDontStripVersionsFromReferencesAtPaths(paths);
    return fhirContext;
  }

  private static void requireR4(FhirContext fhirContext) {
    Objects.requireNonNull(fhirContext, "fhirContext");
    if (fhirContext.getVersion().getVersion() != FhirVersionEnum.R4) {
      throw new IllegalArgumentException("the gateway's profiles are FHIR R4, not " + fhirContext.getVersion().getVersion());
    }
  }
}
