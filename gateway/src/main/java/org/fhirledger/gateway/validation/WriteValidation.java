package org.fhirledger.gateway.validation;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.Constants;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.PreconditionFailedException;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import ca.uhn.fhir.rest.server.exceptions.UnprocessableEntityException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;
import org.fhirledger.profiles.validation.ResourceValidator;
import org.fhirledger.profiles.validation.ValidationIssue;
import org.hl7.fhir.r4.model.OperationOutcome;

/**
 * Validates every write before the gateway records its intent or forwards it: creates and updates (the resource
 * sent), patches, conditional ones included (the resource the patch would produce, see {@link PatchPreview}) and
 * each entry of a transaction or batch, PATCH entries included. Per resource type, the mode decides: {@code reject}
 * refuses a write with errors (422, an OperationOutcome naming each failing element by FHIRPath, and for a bundle
 * the entry; the refusal is recorded on the ledger like any other, and nothing reaches the EHR), {@code warn}
 * forwards it with the issues in the {@code X-Validation-Issues} header (and, when the client sends
 * {@code Prefer: return=OperationOutcome}, as the answer's OperationOutcome: see {@link #outcomeAnswer}),
 * {@code off} skips. A body that cannot be parsed at all is refused with 400 in reject mode. A conditional patch
 * whose search matches nothing gets 404, one that matches several 412, as FHIR R4 says (http.html#patch).
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

  /** User-data key of the findings of an accepted write ({@link Reported}). */
  private static final String REPORTED_KEY = WriteValidation.class.getName() + ".reported";

  private final ValidationProperties properties;
  private final SharedValidator validator;
  private final PatchPreview patches;
  private final FhirContext fhirContext;
  private final Predicate<String> mayResolveConditional;

  /**
   * @param mayResolveConditional whether the gateway may search for the target of a conditional patch of a resource
   *     type; false where another check refuses conditional writes of the type (patient Consent does, for types in
   *     the Patient compartment, so that whether matching data exists is not revealed), which then answers it
   */
  public WriteValidation(ValidationProperties properties, SharedValidator validator, PatchPreview patches,
      FhirContext fhirContext, Predicate<String> mayResolveConditional) {
    this.properties = Objects.requireNonNull(properties, "properties");
    this.validator = Objects.requireNonNull(validator, "validator");
    this.patches = Objects.requireNonNull(patches, "patches");
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    this.mayResolveConditional = Objects.requireNonNull(mayResolveConditional, "mayResolveConditional");
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
    decide(request, List.of(new Checked(mode, issues, null)));
  }

  private void validatePatch(RequestDetails request) {
    String type = request.getResourceName();
    ValidationMode mode = properties.modeFor(type);
    if (mode == ValidationMode.OFF || type == null) {
      return;
    }
    PatchPreview.Target target;
    if (request.getId() != null && request.getId().hasIdPart()) {
      target = new PatchPreview.Target(type, request.getId().getIdPart(), null);
    } else {
      String conditional = request.getConditionalUrl(RestOperationTypeEnum.PATCH);
      int query = conditional == null ? -1 : conditional.indexOf('?');
      if (query < 0 || !mayResolveConditional.test(type)) {
        return; // no target the gateway may look for: the EHR (or the consent check) answers
      }
      target = new PatchPreview.Target(type, null, conditional.substring(query + 1));
    }
    ResourceValidator v = validator.get();
    PatchPreview.Result preview = patches.preview(target, body(request),
        request.getHeader(Constants.HEADER_CONTENT_TYPE), request.getRequestId(), v.fhirContext());
    switch (preview) {
      case PatchPreview.Unavailable u -> { } // the EHR answers for a missing resource itself
      case PatchPreview.NoMatch n -> throw new ResourceNotFoundException("No " + type + " matches the search of "
          + "this conditional patch, so nothing was patched or forwarded.");
      case PatchPreview.Ambiguous a -> throw new PreconditionFailedException("More than one " + type + " matches "
          + "the search of this conditional patch, so nothing was patched or forwarded. Narrow the search so that it "
          + "matches one resource, or patch by id.");
      case PatchPreview.Failed failed -> {
        if (mode == ValidationMode.REJECT) {
          throw unprocessable(List.of(new Finding(
                  new ValidationIssue(ValidationIssue.Severity.ERROR, type, failed.reason()), null)),
              "The patch cannot be applied to the current version of the resource");
        }
      }
      case PatchPreview.Patched patched -> decide(request,
          List.of(new Checked(mode, v.validate(patched.resource(), properties.profilesFor(type)), null)));
    }
  }

  private void validateBundleEntries(RequestDetails request) {
    String text = body(request);
    if (text.isBlank()) {
      return;
    }
    BundleEntries.Writes writes;
    try {
      writes = BundleEntries.of(text, EncodingEnum.forContentType(request.getHeader(Constants.HEADER_CONTENT_TYPE)),
          fhirContext);
    } catch (BundleEntries.NotABundle e) {
      return; // the EHR answers a malformed transaction itself
    }
    List<Checked> checked = new ArrayList<>();
    for (BundleEntries.Entry entry : writes.resources()) {
      ValidationMode mode = properties.modeFor(entry.resourceType());
      if (mode == ValidationMode.OFF) {
        continue;
      }
      List<ValidationIssue> issues = validator.get().validate(entry.json(), properties.profilesFor(entry.resourceType()));
      String prefix = "Bundle.entry[" + entry.index() + "].resource";
      checked.add(new Checked(mode, issues.stream().map(i -> i.within(prefix)).toList(), null));
    }
    for (BundleEntries.PatchEntry entry : writes.patches()) {
      checkPatchEntry(request, entry).ifPresent(checked::add);
    }
    decide(request, checked);
  }

  /**
   * The findings of one PATCH entry, named by the entry ({@code Bundle.entry[n]}) and by the element of the resource
   * as patched. An entry whose target cannot be found here (gone, a conditional search with no or several matches,
   * a resource created earlier in the same transaction) is left to the EHR, which answers it within the bundle.
   */
  private Optional<Checked> checkPatchEntry(RequestDetails request, BundleEntries.PatchEntry entry) {
    Optional<PatchPreview.Target> target = targetOf(entry.url());
    if (target.isEmpty() || entry.patch() == null) {
      return Optional.empty();
    }
    String type = target.get().type();
    ValidationMode mode = properties.modeFor(type);
    if (mode == ValidationMode.OFF || target.get().query() != null && !mayResolveConditional.test(type)) {
      return Optional.empty();
    }
    ResourceValidator v = validator.get();
    String name = "Bundle.entry[" + entry.index() + "]";
    return switch (patches.preview(target.get(), entry.patch(), entry.contentType(), request.getRequestId(),
        v.fhirContext())) {
      case PatchPreview.Patched patched -> Optional.of(new Checked(mode,
          v.validate(patched.resource(), properties.profilesFor(type)), name));
      case PatchPreview.Failed failed -> Optional.of(new Checked(mode,
          List.of(new ValidationIssue(ValidationIssue.Severity.ERROR, type, failed.reason())), name));
      default -> Optional.empty();
    };
  }

  /** {@code Observation/123} or {@code Observation?identifier=...} (relative, as FHIR bundles write them). */
  static Optional<PatchPreview.Target> targetOf(String url) {
    String u = url.startsWith("/") ? url.substring(1) : url;
    int q = u.indexOf('?');
    String path = q < 0 ? u : u.substring(0, q);
    String[] segments = path.split("/");
    if (segments.length == 0 || !segments[0].matches("[A-Z][A-Za-z]+")) {
      return Optional.empty();
    }
    if (q >= 0) {
      return segments.length == 1 ? Optional.of(new PatchPreview.Target(segments[0], null, u.substring(q + 1)))
          : Optional.empty();
    }
    return segments.length == 2 && segments[1].matches("[A-Za-z0-9\\-.]{1,64}")
        ? Optional.of(new PatchPreview.Target(segments[0], segments[1], null)) : Optional.empty();
  }

  /** Refuses the write if any reject-mode resource has errors; otherwise reports what there is to report. */
  private void decide(RequestDetails request, List<Checked> checked) {
    List<Finding> refusing = new ArrayList<>();
    List<Finding> reported = new ArrayList<>();
    for (Checked c : checked) {
      boolean hasErrors = c.issues().stream().anyMatch(i -> i.severity().isError());
      List<Finding> findings = c.issues().stream().map(i -> new Finding(i, c.entry())).toList();
      if (c.mode() == ValidationMode.REJECT && hasErrors) {
        refusing.addAll(findings);
      } else {
        reported.addAll(findings);
      }
    }
    if (!refusing.isEmpty()) {
      if (refusing.stream().anyMatch(f -> f.issue().severity() == ValidationIssue.Severity.FATAL)) {
        InvalidRequestException e = new InvalidRequestException("The request body could not be parsed as FHIR");
        e.setOperationOutcome(findingsOutcome(refusing,
            "The request body could not be parsed as FHIR: nothing was written"));
        throw e;
      }
      throw unprocessable(refusing, "The resource does not conform to FHIR R4 or to the profiles this gateway "
          + "requires: nothing was written");
    }
    if (!reported.isEmpty()) {
      request.getResponse().addHeader(HEADER, findingsSummary(reported));
      // Kept as findings: the OperationOutcome is built only for a client that asks for it (outcomeAnswer), as
      // building its narrative costs a new XHTML parser.
      request.getUserData().put(REPORTED_KEY, new Reported(List.copyOf(reported)));
    }
  }

  /**
   * The answer to a successful write the client asked to get as an OperationOutcome ({@code Prefer:
   * return=OperationOutcome}, FHIR R4 http.html#ops) when validation reported issues on it: the EHR's own
   * OperationOutcome (or, when the EHR answered with the resource or nothing, an informational issue naming what was
   * stored) followed by the validation issues, in the encoding of the EHR's answer. Empty when the client did not
   * ask for it or there is nothing to add: the EHR's answer is returned as it is.
   *
   * @param body the EHR's answer (URLs already rewritten), already recorded on the ledger
   * @param location the stored version's URL from the EHR's answer, or null
   */
  public static Optional<Answer> outcomeAnswer(RequestDetails request, byte[] body, String contentType,
      String location) {
    if (!(request.getUserData().get(REPORTED_KEY) instanceof Reported reported)
        || !prefersOutcome(request.getHeaders(Constants.HEADER_PREFER))) {
      return Optional.empty();
    }
    OperationOutcome issues = findingsOutcome(reported.findings(), "Accepted, with the validation issues listed here");
    FhirContext fhir = FhirContext.forR4Cached();
    EncodingEnum encoding = EncodingEnum.forContentType(contentType);
    if (encoding != EncodingEnum.XML) {
      encoding = EncodingEnum.JSON;
    }
    OperationOutcome answer = null;
    if (body != null && body.length > 0) {
      try {
        if (encoding.newParser(fhir).parseResource(new String(body, StandardCharsets.UTF_8))
            instanceof OperationOutcome ehr) {
          answer = ehr;
        }
      } catch (DataFormatException | IllegalArgumentException notFhir) {
        // answered below with the gateway's own informational issue
      }
    }
    if (answer == null) {
      answer = new OperationOutcome();
      answer.addIssue().setSeverity(OperationOutcome.IssueSeverity.INFORMATION)
          .setCode(OperationOutcome.IssueType.INFORMATIONAL)
          .setDiagnostics(location == null ? "The write was accepted and stored."
              : "The write was accepted and stored as " + location + ".");
    }
    answer.setText(issues.getText());
    issues.getIssue().forEach(answer::addIssue);
    String type = encoding == EncodingEnum.XML ? Constants.CT_FHIR_XML_NEW : Constants.CT_FHIR_JSON_NEW;
    return Optional.of(new Answer(encoding.newParser(fhir).encodeResourceToString(answer)
        .getBytes(StandardCharsets.UTF_8), type + ";charset=UTF-8"));
  }

  /** A body to send instead of the EHR's, and its content type. */
  public record Answer(byte[] body, String contentType) {}

  /** Whether any {@code Prefer} header holds {@code return=OperationOutcome} (RFC 7240: tokens are case-insensitive). */
  static boolean prefersOutcome(List<String> prefer) {
    if (prefer == null) {
      return false;
    }
    for (String header : prefer) {
      for (String preference : header.split("[,;]")) {
        String p = preference.trim().replace("\"", "").replace(" ", "");
        if (p.equalsIgnoreCase("return=OperationOutcome")) {
          return true;
        }
      }
    }
    return false;
  }

  private UnprocessableEntityException unprocessable(List<Finding> findings, String summary) {
    return new UnprocessableEntityException(fhirContext, findingsOutcome(findings, summary));
  }

  /** One OperationOutcome issue per validation issue, the element in {@code expression}, errors first. */
  static OperationOutcome outcome(List<ValidationIssue> issues, String summary) {
    return findingsOutcome(issues.stream().map(i -> new Finding(i, null)).toList(), summary);
  }

  /**
   * One OperationOutcome issue per finding, errors first. {@code expression} holds the element; for a finding on the
   * result of a bundle's PATCH entry, first the entry ({@code Bundle.entry[3]}), then the element of the patched
   * resource ({@code Observation.status}), which is not in the request.
   */
  private static OperationOutcome findingsOutcome(List<Finding> findings, String summary) {
    OperationOutcome outcome = new OperationOutcome();
    outcome.getText().setStatus(org.hl7.fhir.r4.model.Narrative.NarrativeStatus.GENERATED)
        .setDivAsString("<div xmlns=\"http://www.w3.org/1999/xhtml\">" + escape(summary) + "</div>");
    findings.stream().sorted(ERRORS_FIRST).forEach(f -> {
      ValidationIssue i = f.issue();
      OperationOutcome.OperationOutcomeIssueComponent issue = outcome.addIssue()
          .setSeverity(switch (i.severity()) {
            case WARNING -> OperationOutcome.IssueSeverity.WARNING;
            case ERROR -> OperationOutcome.IssueSeverity.ERROR;
            case FATAL -> OperationOutcome.IssueSeverity.FATAL;
          })
          .setCode(i.severity() == ValidationIssue.Severity.FATAL
              ? OperationOutcome.IssueType.STRUCTURE : OperationOutcome.IssueType.PROCESSING)
          .setDiagnostics(f.entry() == null ? i.message()
              : f.entry() + ", the resource as the patch would leave it: " + i.message());
      if (f.entry() != null) {
        issue.addExpression(f.entry());
      }
      issue.addExpression(i.location());
    });
    return outcome;
  }

  private static final java.util.regex.Pattern NOT_PRINTABLE_ASCII = java.util.regex.Pattern.compile("[^\\x20-\\x7e]");

  private static final java.util.Comparator<Finding> ERRORS_FIRST =
      (a, b) -> Boolean.compare(b.issue().severity().isError(), a.issue().severity().isError());

  /** {@code 2 errors, 1 warning: error Observation.status: ...; ...}, errors first, ASCII, bounded in length. */
  static String summary(List<ValidationIssue> issues) {
    return findingsSummary(issues.stream().map(i -> new Finding(i, null)).toList());
  }

  private static String findingsSummary(List<Finding> findings) {
    long errors = findings.stream().filter(f -> f.issue().severity().isError()).count();
    long warnings = findings.size() - errors;
    StringBuilder sb = new StringBuilder().append(errors).append(errors == 1 ? " error, " : " errors, ")
        .append(warnings).append(warnings == 1 ? " warning" : " warnings");
    String sep = ": ";
    for (Finding f : findings.stream().sorted(ERRORS_FIRST).limit(HEADER_MAX_ISSUES).toList()) {
      ValidationIssue i = f.issue();
      String message = i.message().length() > HEADER_MAX_MESSAGE
          ? i.message().substring(0, HEADER_MAX_MESSAGE) + "..." : i.message();
      sb.append(sep).append(i.severity().name().toLowerCase(java.util.Locale.ROOT)).append(' ')
          .append(f.entry() == null ? "" : f.entry() + " patched ").append(i.location()).append(": ").append(message);
      sep = "; ";
    }
    if (findings.size() > HEADER_MAX_ISSUES) {
      sb.append("; ...");
    }
    return NOT_PRINTABLE_ASCII.matcher(sb).replaceAll("?");
  }

  private static String body(RequestDetails request) {
    byte[] bytes = request.loadRequestContents();
    return bytes == null ? "" : new String(bytes, StandardCharsets.UTF_8);
  }

  private static String escape(String s) {
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }

  /** The issues of one resource; {@code entry} names the bundle's PATCH entry whose result they are about, or null. */
  private record Checked(ValidationMode mode, List<ValidationIssue> issues, String entry) {}

  private record Finding(ValidationIssue issue, String entry) {}

  /** The findings of an accepted write, kept on the request until its answer is written. */
  private record Reported(List<Finding> findings) {}
}
