package org.fhirledger.gateway.server;

import ca.uhn.fhir.interceptor.api.Hook;
import ca.uhn.fhir.interceptor.api.Interceptor;
import ca.uhn.fhir.interceptor.api.Pointcut;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.BaseServerResponseException;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import java.util.Objects;
import org.fhirledger.gateway.ledger.InteractionRecorder;

/**
 * Records interactions that end in an error raised inside the gateway (refused input, an unknown
 * resource type, an EHR that cannot be reached, ...), so refusals are on the ledger too. If the
 * ledger cannot record the error, the client gets 503 instead. Thread-safe.
 */
@Interceptor
public final class FailedInteractionRecorder {

  /** User-data key of the ledger index of a write's intent. */
  static final String INTENT_KEY = FailedInteractionRecorder.class.getName() + ".intent";
  /** User-data key set once the interaction's entry is on the ledger. */
  static final String RECORDED_KEY = FailedInteractionRecorder.class.getName() + ".recorded";

  private final InteractionRecorder recorder;

  public FailedInteractionRecorder(InteractionRecorder recorder) {
    this.recorder = Objects.requireNonNull(recorder, "recorder");
  }

  @Hook(Pointcut.SERVER_PRE_PROCESS_OUTGOING_EXCEPTION)
  public BaseServerResponseException recordFailure(RequestDetails request, Throwable failure) {
    if (request.getUserData().containsKey(RECORDED_KEY) || InteractionRecorder.isLedgerDown(failure)) {
      return null;
    }
    int status = failure instanceof BaseServerResponseException e ? e.getStatusCode() : 500;
    Long intent = (Long) request.getUserData().get(INTENT_KEY);
    try {
      long index = recorder.recordFailed(request, Interactions.classify(request), intent, status);
      request.getUserData().put(RECORDED_KEY, Boolean.TRUE);
      request.getResponse().addHeader(InteractionRecorder.HEADER, Long.toString(index));
      return null;
    } catch (UnclassifiedServerFailureException ledgerDown) {
      return ledgerDown;
    }
  }
}
