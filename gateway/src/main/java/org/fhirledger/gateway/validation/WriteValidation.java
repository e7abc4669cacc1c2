package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.fhirledger.profiles.validation.ResourceValidator;
import org.fhirledger.profiles.validation.ValidationIssue;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * Validates every write before the gateway records its intent or forwards it: creates and updates (the resource
 * sent), patches (the resource the patch would produce, see {@link PatchPreview}) and each entry of a transaction or
 * batch. Per resource type, the mode decides: {@code reject} refuses a write with errors (422, an OperationOutcome
 * naming each failing element by FHIRPath; the refusal is recorded on the ledger like any other, and nothing reaches
 * the EHR), {@code warn} forwards it with the issues in the {@code X-Validation-Issues} header, {@code off} skips.
 * A body that cannot be parsed at all is refused with 400 in reject mode.
 *
 * <p>Runs at HAPI's {@code SERVER_INCOMING_REQUEST_PRE_HANDLED}, after authentication and consent hooks of lower
 * order, for forwarded and locally served requests alike. Thread-safe.
 */
@Interceptor(order = WriteValidation.ORDER)
public final class WriteValidation {

  /** Hook order: after access control (which runs at HAPI's default order 0), before anything is recorded. */
  public static final int ORDER = 500;
  /** Response header that lists the issues of an accepted write. */
  public static final String HEADER = "X-Validation-Issues";
  private static final int HEADER_MAX_ISSUES = 10;
  private static final int HEADER_MAX_MESSAGE = 160;

  private final ValidationProperties properties;
  private final SharedValidator validator;
  private final PatchPreview patches;
  private final FhirContext fhirContext;

  public WriteValidation(ValidationProperties properties, SharedValidator validator, PatchPreview patches,
      FhirContext fhirContext) {
    this.properties = Objects.requireNonNull(properties, "properties");
    this.validator = Objects.requireNonNull(validator, "validator");
    this.patches = Objects.requireNonNull(patches, "patches");
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
  }

  @Hook(Pointcut.SERVER_INCOMING_REQUEST_PRE_HANDLED)
  public void validateWrite(RequestDetails request, RestOperationTypeEnum operation) {
    if (operation == null) {
      return;
    }
    switch (operation) {
      case CREATE, UPDATE -> validateBody(request);
      case PATCH -> validatePatch(request);
      case TRANSACTION -> validateBundleEntries(request);
      default -> { }
    }
  }

  private void validateBody(RequestDetails request) {
    String type = request.getResourceName();
    ValidationMode mode = properties.modeFor(type);
    if (mode == ValidationMode.OFF) {
      return;
    }
    String text = body(request);
    if (text.isBlank()) {
      return; // nothing to validate; the EHR answers an empty write itself
    }
    List<ValidationIssue> issues = validator.get().validate(text, properties.profilesFor(type));
    decide(request, List.of(new Checked(mode, issues)));
  }

  private void validatePatch(RequestDetails request) {
    String type = request.getResourceName();
    ValidationMode mode = properties.modeFor(type);
    if (mode == ValidationMode.OFF || request.getId() == null || !request.getId().hasIdPart()) {
      return; // a conditional patch is not previewed: see README
    }
    ResourceValidator v = validator.get();
    PatchPreview.Result preview = patches.preview(request, v.fhirContext());
    if (preview instanceof PatchPreview.Unavailable) {
      return; // the EHR answers for a missing resource itself
    }
    if (preview instanceof PatchPreview.Failed failed) {
      if (mode == ValidationMode.REJECT) {
        throw unprocessable(List.of(new ValidationIssue(ValidationIssue.Severity.ERROR, type, failed.reason())),
            "The patch cannot be applied to the current version of the resource");
      }
      return;
    }
    IBaseResource patched = ((PatchPreview.Patched) preview).resource();
    decide(request, List.of(new Checked(mode, v.validate(patched, properties.profilesFor(type)))));
  }

  private void validateBundleEntries(RequestDetails request) {
    String text = body(request);
    if (text.isBlank()) {
      return;
    }
    List<BundleEntries.Entry> entries;
    try {
      entries = BundleEntries.of(text, EncodingEnum.forContentType(request.getHeader(Constants.HEADER_CONTENT_TYPE)),
          fhirContext);
    } catch (BundleEntries.NotABundle e) {
      return; // the EHR answers a malformed transaction itself
    }
    List<Checked> checked = new ArrayList<>();
    for (BundleEntries.Entry entry : entries) {
      ValidationMode mode = properties.modeFor(entry.resourceType());
      if (mode == ValidationMode.OFF) {
        continue;
      }
      List<ValidationIssue> issues = validator.get().validate(entry.json(), properties.profilesFor(entry.resourceType()));
      String prefix = "Bundle.entry[" + entry.index() + "].resource";
      checked.add(new Checked(mode, issues.stream().map(i -> i.within(prefix)).toList()));
    }
    decide(request, checked);
  }

  /** Refuses the write if any reject-mode resource has errors; otherwise reports what there is to report. */
  private void decide(RequestDetails request, List<Checked> checked) {
    List<ValidationIssue> refusing = new ArrayList<>();
    List<ValidationIssue> reported = new ArrayList<>();
    for (Checked c : checked) {
      boolean hasErrors = c.issues().stream().anyMatch(i -> i.severity().isError());
      if (c.mode() == ValidationMode.REJECT && hasErrors) {
        refusing.addAll(c.issues());
      } else {
        reported.addAll(c.issues());
      }
    }
    if (!refusing.isEmpty()) {
      if (refusing.stream().anyMatch(i -> i.severity() == ValidationIssue.Severity.FATAL)) {
        InvalidRequestException e = new InvalidRequestException("The request body could not be parsed as FHIR");
        e.setOperationOutcome(outcome(refusing, "The request body could not be parsed as FHIR: nothing was written"));
        throw e;
      }
      throw unprocessable(refusing, "The resource does not conform to FHIR R4 or to the profiles this gateway "
          + "requires: nothing was written");
    }
    if (!reported.isEmpty()) {
      request.getResponse().addHeader(HEADER, summary(reported));
    }
  }

  private UnprocessableEntityException unprocessable(List<ValidationIssue> issues, String summary) {
    return new UnprocessableEntityException(fhirContext, outcome(issues, summary));
  }

  /** One OperationOutcome issue per validation issue, the element in {@code expression}, errors first. */
  static OperationOutcome outcome(List<ValidationIssue> issues, String summary) {
    OperationOutcome outcome = new OperationOutcome();
    outcome.getText().setStatus(org.hl7.fhir.r4.model.Narrative.NarrativeStatus.GENERATED)
        .setDivAsString("<div xmlns=\"http://www.w3.org/1999/xhtml\">" + escape(summary) + "</div>");
    issues.stream().sorted((a, b) -> Boolean.compare(b.severity().isError(), a.severity().isError())).forEach(i ->
        outcome.addIssue()
            .setSeverity(switch (i.severity()) {
              case WARNING -> OperationOutcome.IssueSeverity.WARNING;
              case ERROR -> OperationOutcome.IssueSeverity.ERROR;
              case FATAL -> OperationOutcome.IssueSeverity.FATAL;
            })
            .setCode(i.severity() == ValidationIssue.Severity.FATAL
                ? OperationOutcome.IssueType.STRUCTURE : OperationOutcome.IssueType.PROCESSING)
            .setDiagnostics(i.message())
            .addExpression(i.location()));
    return outcome;
  }

  /** {@code 2 errors, 1 warning: error Observation.status: ...; ...}, errors first, ASCII, bounded in length. */
  static String summary(List<ValidationIssue> issues) {
    long errors = issues.stream().filter(i -> i.severity().isError()).count();
    long warnings = issues.size() - errors;
    StringBuilder sb = new StringBuilder().append(errors).append(errors == 1 ? " error, " : " errors, ")
        .append(warnings).append(warnings == 1 ? " warning" : " warnings");
    String sep = ": ";
    List<ValidationIssue> errorsFirst = issues.stream()
        .sorted((a, b) -> Boolean.compare(b.severity().isError(), a.severity().isError())).toList();
    for (ValidationIssue i : errorsFirst.stream().limit(HEADER_MAX_ISSUES).toList()) {
      String message = i.message().length() > HEADER_MAX_MESSAGE
          ? i.message().substring(0, HEADER_MAX_MESSAGE) + "..." : i.message();
      sb.append(sep).append(i.severity().name().toLowerCase(java.util.Locale.ROOT)).append(' ')
          .append(i.location()).append(": ").append(message);
      sep = "; ";
    }
    if (issues.size() > HEADER_MAX_ISSUES) {
      sb.append("; ...");
    }
    return sb.toString().replaceAll("[^\\x20-\\x7e]", "?");
  }

  private static String body(RequestDetails request) {
    byte[] bytes = request.loadRequestContents();
    return bytes == null ? "" : new String(bytes, StandardCharsets.UTF_8);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  private record Checked(ValidationMode mode, List<ValidationIssue> issues) {}
}
