package org.fhirledger.profiles.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationOptions;
import ca.uhn.fhir.validation.ValidationResult;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r5.utils.validation.constants.BestPracticeWarningLevel;

/**
 * Validates resources with HAPI's instance validator against FHIR R4, the gateway's own package, and the FHIR
 * packages it was given (for example US Core), never calling a remote server: a code from a code system it does not
 * hold is a warning, not an error, and a profile it does not know is reported, not fetched.
 *
 * <p>Building one is expensive (packages are parsed, the chain is created); the first validations are slower still
 * (snapshots and caches fill). Build one per process, {@link #warmUp} it, and share it: it is thread-safe.
 */
public final class ResourceValidator {

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ResourceValidator.class);

  /** Classpath location of the gateway's own package, as the fhir-profiles build writes it. */
  public static final String OWN_PACKAGE = GatewayProfiles.PACKAGE_ON_CLASSPATH;

  private final FhirContext fhirContext;
  private final IValidationSupport support;
  private final FhirValidator validator;
  private final List<String> packages;
  private final ReusableInstanceValidator reusable;

  private ResourceValidator(FhirContext fhirContext, FhirPackageSupport packageSupport) {
    this.fhirContext = fhirContext;
    UnknownCodeSystemWarningValidationSupport unknownCodeSystems = new UnknownCodeSystemWarningValidationSupport(fhirContext);
    unknownCodeSystems.setNonExistentCodeSystemSeverity(IValidationSupport.IssueSeverity.WARNING);
    this.support = new ValidationSupportChain(
        new DefaultProfileValidationSupport(fhirContext),
        packageSupport,
        new CommonCodeSystemsTerminologyService(fhirContext),
        new InMemoryTerminologyServerValidationSupport(fhirContext),
        new SnapshotGeneratingValidationSupport(fhirContext),
        unknownCodeSystems);
    FhirInstanceValidator module = new FhirInstanceValidator(support);
    module.setBestPracticeWarningLevel(BestPracticeWarningLevel.Ignore);
    module.setErrorForUnknownProfiles(false);
    // References to resources on the server (Patient/123) cannot be resolved here; their type is taken from the URL.
    module.setAssumeValidRestReferences(true);
    this.validator = fhirContext.newValidator().registerValidatorModule(module);
    // HAPI creates its worker context (the bridge to the support chain) on first use; the reusable validator needs it.
    validator.validateWithResult(new org.hl7.fhir.r4.model.Basic());
    this.reusable = new ReusableInstanceValidator(module);
    this.packages = packageSupport.loadedPackages();
  }

  /** Starts building a validator for {@code fhirContext} (FHIR R4). */
  public static Builder builder(FhirContext fhirContext) {
    return new Builder(fhirContext);
  }

  /**
   * Validates {@code resource} against FHIR R4, the profiles its {@code meta.profile} claims, and {@code profiles};
   * profiles this validator does not know are not checked (a claimed one is reported as a warning).
   *
   * @return the warnings and errors, in the validator's order; empty when the resource is valid
   */
  public List<ValidationIssue> validate(IBaseResource resource, Collection<String> profiles) {
    return issues(validator.validateWithResult(resource, options(profiles)));
  }

  /**
   * As {@link #validate(IBaseResource, Collection)}, for a resource as the client sent it (JSON or XML): what the
   * parser would drop (unknown elements, wrong JSON types) is reported too.
   */
  public List<ValidationIssue> validate(String resourceText, Collection<String> profiles) {
    try {
      if (resourceText.stripLeading().startsWith("{")) {
        return issues(reusable.validateJson(resourceText, profiles.stream().filter(this::knowsProfile).toList()));
      }
      return issues(validator.validateWithResult(resourceText, options(profiles)));
    } catch (RuntimeException e) {
      if (isParseFailure(e)) {
        // HAPI's validator throws, rather than reports, when the text is not JSON or XML at all.
        String why = e.getCause() != null ? e.getCause().getMessage() : e.getMessage();
        return List.of(new ValidationIssue(ValidationIssue.Severity.FATAL, "",
            "The content is not a parseable FHIR resource: " + why));
      }
      // A fault inside the validator: the resource could not be checked, which is not the same as valid. The
      // exception's message may quote the content, so only its type is logged.
      StackTraceElement[] at = e.getStackTrace();
      log.warn("The validator failed on a resource: {} at {}", e.getClass().getName(), at.length > 0 ? at[0] : "?");
      return List.of(new ValidationIssue(ValidationIssue.Severity.ERROR, "",
          "The validator could not process this resource (" + e.getClass().getSimpleName()
              + "), so it could not be checked"));
    }
  }

  private static boolean isParseFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof java.io.IOException || t instanceof ca.uhn.fhir.parser.DataFormatException
          || t instanceof org.hl7.fhir.exceptions.FHIRFormatError
          || t.getClass().getName().startsWith("com.google.gson.") || t instanceof org.xml.sax.SAXException) {
        return true;
      }
    }
    return false;
  }

  /** The per-thread core validator that validates JSON text (for tests). */
  ReusableInstanceValidator reusable() {
    return reusable;
  }

  /** Whether this validator knows the profile or extension with this canonical URL. */
  public boolean knowsProfile(String url) {
    return support.fetchStructureDefinition(url) != null;
  }

  /** The packages loaded besides FHIR R4 core, as {@code name#version}. */
  public List<String> packages() {
    return packages;
  }

  public FhirContext fhirContext() {
    return fhirContext;
  }

  /**
   * Runs a few validations so that snapshots and caches are filled before the first request: the first
   * validation of a profile costs seconds, later ones milliseconds.
   */
  public void warmUp(Collection<String> profiles) {
    org.hl7.fhir.r4.model.Observation sample = new org.hl7.fhir.r4.model.Observation();
    sample.setStatus(org.hl7.fhir.r4.model.Observation.ObservationStatus.FINAL);
    sample.getCode().addCoding().setSystem("http://loinc.org").setCode("718-7");
    validate(sample, List.of());
    for (String profile : profiles) {
      if (support.fetchStructureDefinition(profile) instanceof org.hl7.fhir.r4.model.StructureDefinition definition
          && fhirContext.getResourceTypes().contains(definition.getType())) {
        // An empty instance of the profiled type: its errors do not matter, the snapshot and caches it fills do.
        validate(fhirContext.getResourceDefinition(definition.getType()).newInstance(), List.of(profile));
      }
    }
  }

  /** Options asking for the given profiles, those this validator does not know left out (never fetched). */
  private ValidationOptions options(Collection<String> profiles) {
    ValidationOptions options = new ValidationOptions();
    profiles.stream().filter(this::knowsProfile).forEach(options::addProfile);
    return options;
  }

  private List<ValidationIssue> issues(ValidationResult result) {
    List<ValidationIssue> out = new ArrayList<>();
    for (SingleValidationMessage m : result.getMessages()) {
      ValidationIssue.Severity severity = switch (m.getSeverity() == null ? ResultSeverityEnum.ERROR : m.getSeverity()) {
        case INFORMATION -> null;
        case WARNING -> ValidationIssue.Severity.WARNING;
        case ERROR -> ValidationIssue.Severity.ERROR;
        case FATAL -> ValidationIssue.Severity.FATAL;
      };
      add(out, severity, m.getLocationString(), m.getMessage());
    }
    return List.copyOf(out);
  }

  private List<ValidationIssue> issues(List<org.hl7.fhir.utilities.validation.ValidationMessage> messages) {
    List<ValidationIssue> out = new ArrayList<>();
    for (org.hl7.fhir.utilities.validation.ValidationMessage m : messages) {
      ValidationIssue.Severity severity = switch (m.getLevel() == null
          ? org.hl7.fhir.utilities.validation.ValidationMessage.IssueSeverity.ERROR : m.getLevel()) {
        case INFORMATION, NULL -> null;
        case WARNING -> ValidationIssue.Severity.WARNING;
        case ERROR -> ValidationIssue.Severity.ERROR;
        case FATAL -> ValidationIssue.Severity.FATAL;
      };
      add(out, severity, m.getLocation(), m.getMessage());
    }
    return List.copyOf(out);
  }

  private void add(List<ValidationIssue> out, ValidationIssue.Severity severityFound, String locationFound,
      String messageFound) {
    ValidationIssue.Severity severity = severityFound;
    {
      if (severity != null) {
        String location = locationFound == null ? "" : locationFound;
        String message = messageFound == null ? "" : messageFound;
        if (severity == ValidationIssue.Severity.ERROR && unresolvableTerminology(message)) {
          severity = ValidationIssue.Severity.WARNING;
          message = message + " (not checked: this gateway does not hold every code system of this value set)";
        }
        out.add(new ValidationIssue(severity, element(location, message), message));
      }
    }
  }

  /**
   * Whether an error says a code is not in a required value set that this validator cannot fully evaluate, because
   * the value set draws on a code system (or value set) no loaded package holds, for example US Core's race
   * categories from CDC's code system. Such a finding is about the gateway's terminology, not the resource, so it is
   * reported as a warning; a code missing from a value set whose code systems are all known stays an error.
   */
  private boolean unresolvableTerminology(String message) {
    java.util.regex.Matcher m = VALUE_SET_MISS.matcher(message);
    return m.find() && !fullyKnown(m.group(1), 0);
  }

  private boolean fullyKnown(String valueSetUrl, int depth) {
    if (depth > 4 || !(support.fetchValueSet(valueSetUrl) instanceof org.hl7.fhir.r4.model.ValueSet vs)) {
      return false;
    }
    ca.uhn.fhir.context.support.ValidationSupportContext context = new ca.uhn.fhir.context.support.ValidationSupportContext(support);
    for (org.hl7.fhir.r4.model.ValueSet.ConceptSetComponent include : vs.getCompose().getInclude()) {
      if (include.hasSystem() && support.fetchCodeSystem(include.getSystem()) == null
          && !support.isCodeSystemSupported(context, include.getSystem())) {
        return false;
      }
      for (org.hl7.fhir.r4.model.CanonicalType nested : include.getValueSet()) {
        if (!fullyKnown(nested.getValue(), depth + 1)) {
          return false;
        }
      }
    }
    return true;
  }

  private static final java.util.regex.Pattern VALUE_SET_MISS = java.util.regex.Pattern.compile(
      "(?:not found in|are in) the value set '[^']*' \\(([^)|\\s]+)");

  /**
   * The FHIRPath of the element an issue is about. The validator locates a missing element (a minimum cardinality
   * or a required slice not met) at its parent and names the element in the message by its definition path
   * ({@code Observation.category: minimum required = 1}); the element's own path is the more useful location.
   */
  static String element(String location, String message) {
    java.util.regex.Matcher m = MISSING.matcher(message);
    if (!m.find()) {
      return location;
    }
    String definitionPath = m.group(1) != null ? m.group(1) : m.group(2);
    String parentDefinition = location.replaceAll("\\[[0-9]+\\]", "");
    if (definitionPath.startsWith(parentDefinition + ".") && definitionPath.indexOf('.', parentDefinition.length() + 1) < 0) {
      return location + definitionPath.substring(parentDefinition.length());
    }
    return location;
  }

  private static final java.util.regex.Pattern MISSING = java.util.regex.Pattern.compile(
      "^(?:([A-Z][A-Za-z]*(?:\\.[A-Za-z]+(?:\\[x\\])?)+): minimum required"
          + "|Slice '([A-Z][A-Za-z]*(?:\\.[A-Za-z]+(?:\\[x\\])?)+):[^']*': a matching slice is required)");

  /** Collects the packages a validator knows. Not thread-safe; use it from one thread, once. */
  public static final class Builder {
    private final FhirContext fhirContext;
    private final FhirPackageSupport packages;

    private Builder(FhirContext fhirContext) {
      this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
      if (fhirContext.getVersion().getVersion() != ca.uhn.fhir.context.FhirVersionEnum.R4) {
        throw new IllegalArgumentException("the validator is for FHIR R4, not " + fhirContext.getVersion().getVersion());
      }
      this.packages = new FhirPackageSupport(fhirContext);
    }

    /**
     * Adds the gateway's own package (its profiles and extensions).
     *
     * @throws UncheckedIOException if it is not on the classpath (a broken build)
     */
    public Builder withGatewayPackage() {
      try (InputStream in = GatewayProfiles.class.getResourceAsStream("/fhir-packages/org.fhirledger.gateway.tgz")) {
        if (in == null) {
          throw new IOException("the gateway's FHIR package is not on the classpath: " + OWN_PACKAGE);
        }
        packages.loadPackage(in);
        return this;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    /**
     * Adds a FHIR NPM package ({@code .tgz}); the caller closes the stream.
     *
     * @return the package's {@code name#version}
     * @throws IOException if it cannot be read or is not a FHIR package
     */
    public String addPackage(InputStream tgz) throws IOException {
      return packages.loadPackage(tgz);
    }

    public ResourceValidator build() {
      return new ResourceValidator(fhirContext, packages);
    }
  }
}
