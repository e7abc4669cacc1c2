package org.fhirledger.profiles;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.fhirledger.profiles.build.FhirPackageBuilder;
import org.fhirledger.profiles.validation.ResourceValidator;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.NpmPackageValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Consent;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.Period;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StructureDefinition;
import org.hl7.fhir.utilities.npm.NpmPackage;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The FHIR NPM package the build produces: standard layout, loadable by HAPI's NpmPackageValidationSupport, its
 * definitions usable by the validator (the Consent profile and the CapabilityStatement included).
 */
class GatewayPackageTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final Path BUILT = Path.of("target", "fhir-package", "org.fhirledger.gateway-"
      + System.getProperty("project.version", "0.1.0-SNAPSHOT") + ".tgz");
  private static FhirValidator validator;
  private static NpmPackageValidationSupport npm;

  @BeforeAll
  static void loadPackage() throws IOException {
    npm = new NpmPackageValidationSupport(FHIR);
    npm.loadPackageFromClasspath(ResourceValidator.OWN_PACKAGE);
    ValidationSupportChain chain = new ValidationSupportChain(new DefaultProfileValidationSupport(FHIR), npm,
        new CommonCodeSystemsTerminologyService(FHIR), new InMemoryTerminologyServerValidationSupport(FHIR),
        new SnapshotGeneratingValidationSupport(FHIR));
    validator = FHIR.newValidator().registerValidatorModule(new FhirInstanceValidator(chain));
  }

  @Test
  void build_packageJsonAndIndex_followTheNpmPackageLayout() throws IOException {
    NpmPackage pkg;
    try (InputStream in = Files.newInputStream(BUILT)) {
      pkg = NpmPackage.fromPackage(in);
    }

    assertEquals("org.fhirledger.gateway", pkg.name());
    assertEquals("4.0.1", pkg.fhirVersion());
    assertTrue(pkg.dependencies().contains("hl7.fhir.r4.core#4.0.1"), pkg.dependencies()::toString);
    Set<String> files = new HashSet<>(pkg.listResources("StructureDefinition", "CapabilityStatement"));
    assertEquals(Set.of("StructureDefinition-ledger-entry.json", "StructureDefinition-ledger-receipt.json",
        "StructureDefinition-ledger-audit-event.json", "StructureDefinition-gateway-provenance.json",
        "StructureDefinition-gateway-consent.json", "CapabilityStatement-fhir-ledger-gateway.json"), files);
  }

  @Test
  void build_sameSources_sameBytes() throws IOException {
    Path sources = Path.of("target", "classes", "org", "fhirledger", "profiles");

    byte[] first = FhirPackageBuilder.build(sources, "org.fhirledger.gateway", "1.0.0");
    byte[] second = FhirPackageBuilder.build(sources, "org.fhirledger.gateway", "1.0.0");

    assertTrue(java.util.Arrays.equals(first, second), "the package build is not reproducible");
  }

  @Test
  void build_resourceWithoutUrl_refused(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("Patient-x.json"), "{\"resourceType\":\"Patient\",\"id\":\"x\"}");

    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> FhirPackageBuilder.build(dir, "p", "1.0.0"));

    assertTrue(e.getMessage().contains("no url"), e.getMessage());
  }

  @Test
  void loadPackageFromClasspath_allDefinitionsKnown() {
    for (String url : List.of(GatewayProfiles.LEDGER_ENTRY, GatewayProfiles.LEDGER_RECEIPT,
        GatewayProfiles.LEDGER_AUDIT_EVENT, GatewayProfiles.GATEWAY_PROVENANCE, GatewayProfiles.GATEWAY_CONSENT)) {
      assertNotNull(npm.fetchStructureDefinition(url), url);
    }
  }

  @Test
  void validate_packagedCapabilityStatement_noErrors() throws IOException {
    ObjectMapper json = new ObjectMapper();
    try (InputStream in = Files.newInputStream(BUILT)) {
      NpmPackage pkg = NpmPackage.fromPackage(in);
      // The StructureDefinitions are exercised by validating instances against them; validating a definition
      // itself needs the core package's snapshots by package id, which HAPI's chain does not carry.
      for (String file : pkg.listResources("CapabilityStatement")) {
        byte[] bytes = pkg.getFolders().get("package").fetchFile(file);
        JsonNode node = json.readTree(bytes);
        assertTrue(node.get("url").asText().startsWith(GatewayProfiles.BASE), file);

        List<SingleValidationMessage> errors = errors(validator.validateWithResult(new String(bytes,
            java.nio.charset.StandardCharsets.UTF_8)).getMessages());

        assertEquals(List.of(), errors, file);
      }
    }
  }

  @Test
  void validate_conformingConsent_noErrors() {
    assertEquals(List.of(), errors(validator.validateWithResult(conformingConsent()).getMessages()));
  }

  @Test
  void validate_consentWithOtherScopeOrActorWithoutWhoOrUntypedException_errorsNameTheRules() {
    Consent consent = conformingConsent();
    consent.getScope().getCodingFirstRep().setCode("research");
    Consent.ProvisionComponent nested = consent.getProvision().getProvisionFirstRep();
    nested.addActor().setRole(role()).setReference(new Reference().setDisplay("someone"));
    nested.addProvision().addPurpose(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "HRESCH", null));

    List<SingleValidationMessage> errors = errors(validator.validateWithResult(consent).getMessages());

    assertTrue(errors.stream().anyMatch(m -> m.getLocationString().startsWith("Consent.scope")), errors::toString);
    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("gwc-1")), errors::toString);
    assertTrue(errors.stream().anyMatch(m -> m.getMessage().contains("gwc-2")), errors::toString);
  }

  @Test
  void structureDefinitions_includeTheConsentProfile() {
    List<StructureDefinition> definitions = GatewayProfiles.structureDefinitions(FHIR);

    assertTrue(definitions.stream().anyMatch(d -> d.getUrl().equals(GatewayProfiles.GATEWAY_CONSENT)));
  }

  @Test
  void capabilityStatement_parses() throws IOException {
    try (InputStream in = GatewayProfiles.class.getResourceAsStream("CapabilityStatement-fhir-ledger-gateway.json")) {
      CapabilityStatement cs = FHIR.newJsonParser().parseResource(CapabilityStatement.class, in);
      assertEquals("4.0.1", cs.getFhirVersion().toCode());
    }
  }

  private static List<SingleValidationMessage> errors(List<SingleValidationMessage> messages) {
    return messages.stream().filter(m -> m.getSeverity().ordinal() >= ResultSeverityEnum.ERROR.ordinal()).toList();
  }

  private static CodeableConcept role() {
    return new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "IRCP",
        "information recipient"));
  }

  static Consent conformingConsent() {
    Consent c = new Consent();
    c.getMeta().addProfile(GatewayProfiles.GATEWAY_CONSENT);
    c.setStatus(Consent.ConsentState.ACTIVE);
    c.setScope(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy",
        "Privacy Consent")));
    c.addCategory(new CodeableConcept(new Coding("http://loinc.org", "59284-0", "Patient Consent")));
    c.setPatient(new Reference("Patient/p1"));
    c.addPolicy().setUri("https://hospital.example/policy/opt-in");
    Consent.ProvisionComponent root = c.getProvision().setType(Consent.ConsentProvisionType.DENY);
    Consent.ProvisionComponent permit = root.addProvision().setType(Consent.ConsentProvisionType.PERMIT);
    permit.setPeriod(new Period().setEndElement(new org.hl7.fhir.r4.model.DateTimeType("2027-01-01")));
    permit.addActor().setRole(role())
        .setReference(new Reference().setIdentifier(new Identifier().setSystem(GatewayProfiles.CLIENT_ID_SYSTEM).setValue("lab-app")));
    permit.addAction(new CodeableConcept(new Coding("http://terminology.hl7.org/CodeSystem/consentaction", "collect", "Collect")));
    permit.addPurpose(new Coding("http://terminology.hl7.org/CodeSystem/v3-ActReason", "TREAT", "treatment"));
    permit.addClass_(new Coding("http://hl7.org/fhir/resource-types", "Observation", "Observation"));
    permit.addCode(new CodeableConcept(new Coding("http://loinc.org", "718-7", "Hemoglobin")));
    permit.addSecurityLabel(new Coding("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N", "normal"));
    permit.setDataPeriod(new Period().setStartElement(new org.hl7.fhir.r4.model.DateTimeType("2020-01-01")));
    return c;
  }
}
