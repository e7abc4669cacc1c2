package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.RequestTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.ForbiddenOperationException;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import ca.uhn.fhir.rest.server.exceptions.MethodNotAllowedException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.PatientSecretStore;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.BooleanType;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.OperationOutcome;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.StringType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The administrative operation {@code POST [base]/Patient/[id]/$erase-pseudonym}: destroys the patient's pseudonym
 * secret, so the patient's existing ledger entries can no longer be linked to them, while the log, untouched, still
 * verifies. Served by the gateway itself, never forwarded to the EHR. Thread-safe.
 *
 * <p><b>Who:</b> see {@link ErasureAccess} (off by default; loopback only; SMART {@code system/} admin scopes
 * replace that rule later). A refused call ends in 403 with an OperationOutcome and, like every refusal, is on the
 * ledger.
 *
 * <p><b>What is recorded:</b> an INTENT (interaction {@code ERASURE}) before the secret is destroyed and its
 * OUTCOME after, both carrying the pseudonym that becomes unlinkable (once its secret is gone it links to nothing)
 * and never the patient's id. A crash in between leaves an intent that start-up reconciliation settles as "could
 * not be established". If the ledger cannot record the intent, nothing is erased (503).
 *
 * <p><b>Answer:</b> 200 with {@code Parameters}: {@code erased} (whether a secret existed and was destroyed),
 * {@code ledgerIndex} (the outcome's entry, also in {@code X-Ledger-Index}) and a human-readable {@code message}.
 *
 * <p>Destroying the secret does not remove the patient's resource ids from entries that name them (for example a
 * read of {@code Patient/[id]} records that id); see the recorder.
 */
@Interceptor
public final class PseudonymErasure {

  static final String OPERATION = "$erase-pseudonym";
  private static final Logger log = LoggerFactory.getLogger(PseudonymErasure.class);
  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");

  private final ErasureAccess access;
  private final PatientSecretStore secrets;
  private final Pseudonymizer pseudonymizer;
  private final InteractionRecorder recorder;
  private final FhirContext fhirContext;

  PseudonymErasure(ErasureAccess access, PatientSecretStore secrets, InteractionRecorder recorder,
      FhirContext fhirContext) {
    this.access = Objects.requireNonNull(access, "access");
    this.secrets = Objects.requireNonNull(secrets, "secrets");
    this.pseudonymizer = new Pseudonymizer(secrets);
    this.recorder = Objects.requireNonNull(recorder, "recorder");
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
  }

  /**
   * Serves the operation, or lets any other request through.
   *
   * @return false when this operation was served here (HAPI then stops), true for any other request
   */
  @Hook(Pointcut.SERVER_INCOMING_REQUEST_POST_PROCESSED)
  public boolean serve(RequestDetails request, HttpServletRequest servlet, HttpServletResponse response)
      throws IOException {
    if (!OPERATION.equals(request.getOperation())) {
      return true;
    }
    String patientRef = checkedTarget(request);
    boolean proxied = servlet.getHeader("Forwarded") != null || servlet.getHeader("X-Forwarded-For") != null;
    Optional<String> refusal = access.refusal(servlet.getRemoteAddr(), proxied);
    if (refusal.isPresent()) {
      throw new ForbiddenOperationException(refusal.get());
    }
    erase(request, patientRef, response);
    return false;
  }

  private static String checkedTarget(RequestDetails request) {
    if (request.getRequestType() != RequestTypeEnum.POST) {
      throw new MethodNotAllowedException(OPERATION + " must be invoked with POST", RequestTypeEnum.POST);
    }
    if (!"Patient".equals(request.getResourceName()) || request.getId() == null || !request.getId().hasIdPart()
        || request.getId().hasVersionIdPart() || !FHIR_ID.matcher(request.getId().getIdPart()).matches()) {
      throw new InvalidRequestException(OPERATION + " is invoked on one patient: POST [base]/Patient/[id]/" + OPERATION);
    }
    return "Patient/" + request.getId().getIdPart();
  }

  private void erase(RequestDetails request, String patientRef, HttpServletResponse response) throws IOException {
    Optional<Pseudonym> erased;
    try {
      erased = pseudonymizer.existingPseudonym(patientRef);
    } catch (LedgerUnavailableException e) {
      throw InteractionRecorder.ledgerDown(e);
    }
    long intent = recorder.recordErasureIntent(request, erased);
    boolean existed;
    try {
      existed = secrets.erase(patientRef);
    } catch (LedgerUnavailableException e) {
      log.error("Erasing a pseudonym secret failed: {}", e.getClass().getSimpleName());
      long index = recorder.recordErasureOutcome(request, erased, intent, 503);
      write(response, 503, index, failure("The pseudonym secret store is unavailable; nothing was erased. "
          + "Try again later."));
      return;
    }
    long index = recorder.recordErasureOutcome(request, erased, intent, 200);
    log.info("A patient's pseudonym secret was erased (ledger index {})", index);
    Parameters answer = new Parameters();
    answer.addParameter().setName("erased").setValue(new BooleanType(existed));
    answer.addParameter().setName("ledgerIndex").setValue(new IntegerType(Math.toIntExact(Math.min(index, Integer.MAX_VALUE))));
    answer.addParameter().setName("message").setValue(new StringType(existed
        ? "The patient's pseudonym secret was destroyed: their existing ledger entries can no longer be linked to them."
        : "The patient had no pseudonym secret: no ledger entry named them by pseudonym. The erasure is recorded."));
    write(response, 200, index, answer);
  }

  private static OperationOutcome failure(String text) {
    OperationOutcome oo = new OperationOutcome();
    oo.addIssue().setSeverity(OperationOutcome.IssueSeverity.ERROR).setCode(OperationOutcome.IssueType.TRANSIENT)
        .setDiagnostics(text);
    return oo;
  }

  private void write(HttpServletResponse response, int status, long ledgerIndex, IBaseResource body)
      throws IOException {
    byte[] bytes = fhirContext.newJsonParser().encodeResourceToString(body).getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.setContentType("application/fhir+json;charset=utf-8");
    response.addHeader(InteractionRecorder.HEADER, Long.toString(ledgerIndex));
    response.setContentLength(bytes.length);
    response.getOutputStream().write(bytes);
    response.flushBuffer();
  }
}
