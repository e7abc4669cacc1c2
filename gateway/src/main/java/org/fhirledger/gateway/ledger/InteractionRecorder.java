package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns each FHIR interaction into ledger entries, durably, before its response leaves the gateway.
 *
 * <p>A write gets an INTENT entry before it is forwarded and an OUTCOME entry (pointing back at the
 * intent) once the EHR answered; a batch or transaction gets one OUTCOME per bundle entry. Every
 * other interaction, including refused and failed ones, gets one INTERACTION entry. Every method
 * returns only once its entries are committed; when the ledger cannot append, it throws a 503 HAPI
 * exception, so the request fails closed (and a write is then never forwarded). Thread-safe.
 *
 * <p>Nothing that could be PHI is written: patients become pseudonyms, resource types are written
 * only when they are FHIR types and ids only when they have FHIR id syntax, and request ids only
 * when they look like ids.
 */
public final class InteractionRecorder {

  /** The response header that carries the index of the interaction's ledger entry. */
  public static final String HEADER = "X-Ledger-Index";

  /** Until SMART authentication exists, every caller is recorded as this anonymous actor. */
  static final Actor ANONYMOUS = new Actor("anonymous", null, null);

  private static final Logger log = LoggerFactory.getLogger(InteractionRecorder.class);
  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9\\-._]{1,64}");

  private final Ledger ledger;
  private final Pseudonymizer pseudonymizer;
  private final FhirContent content;
  private final String origin;
  private final Clock clock;

  InteractionRecorder(Ledger ledger, Pseudonymizer pseudonymizer, FhirContent content, String origin, Clock clock) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.pseudonymizer = Objects.requireNonNull(pseudonymizer, "pseudonymizer");
    this.content = Objects.requireNonNull(content, "content");
    this.origin = Objects.requireNonNull(origin, "origin");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Appends the INTENT of a write. Call before forwarding it.
   *
   * @return the intent's ledger index
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append: do not forward
   */
  public long recordIntent(RequestDetails request, RestOperationTypeEnum operation) {
    Interaction interaction = LedgerInteractions.of(operation, request);
    RecordedFacts facts = RecordedFacts.of(interaction, 0, type(request), id(request), version(request));
    EntryRecord intent = base(request, facts).type(EntryType.INTENT).httpStatus(null).build();
    return append(List.of(intent)).get(0);
  }

  /**
   * Appends the entry (or entries) of an interaction the EHR answered.
   *
   * @param intentIndex the write's intent, or null for a read
   * @param status the HTTP status returned to the client
   * @param body the body returned to the client (URLs already rewritten)
   * @param contentType its content type, or null
   * @param storedVersion fetches the stored version of a write from a versioned location when the
   *     body does not hold it (for example {@code Prefer: return=minimal}); may return empty
   * @return the index to report in {@link #HEADER}
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append
   */
  public long recordAnswered(RequestDetails request, RestOperationTypeEnum operation, Long intentIndex, int status,
      byte[] body, String contentType, String location, Function<String, Optional<IBaseResource>> storedVersion) {
    Interaction interaction = LedgerInteractions.of(operation, request);
    Optional<IBaseResource> parsed = content.parse(body, contentType);
    if (intentIndex != null && (interaction == Interaction.BATCH || interaction == Interaction.TRANSACTION)) {
      List<RecordedFacts> entries =
          BundleFacts.of(LedgerInteractions.requestBundle(request), parsed.orElse(null), content);
      List<EntryRecord> records = new ArrayList<>();
      for (RecordedFacts entry : entries) {
        records.add(outcome(request, entry, intentIndex));
      }
      if (records.isEmpty()) {
        records.add(outcome(request, RecordedFacts.of(interaction, status, null, null, null), intentIndex));
      }
      append(records);
      return intentIndex;
    }
    RecordedFacts facts = RecordedFacts.of(interaction, status, type(request), id(request), version(request));
    boolean success = status >= 200 && status < 300;
    Optional<IBaseResource> resource = parsed.filter(r -> !isOperationOutcome(r));
    if (success && intentIndex != null && resource.isEmpty() && location != null && interaction != Interaction.DELETE) {
      resource = storedVersion.apply(location);
    }
    if (resource.isPresent()) {
      IBaseResource r = resource.get();
      facts = facts.withContent(content.canonicalSha256(r), content.patients(r));
      if (intentIndex != null && r.getIdElement().hasIdPart()) {
        facts = facts.withVersion(r.fhirType(), r.getIdElement().getIdPart(), r.getIdElement().getVersionIdPart() != null
            ? r.getIdElement().getVersionIdPart() : r.getMeta().getVersionId());
      }
    } else if (success && body.length > 0 && parsed.isEmpty()) {
      facts = facts.withContent(FhirContent.sha256(body), java.util.Set.of());
    }
    if ("Patient".equals(facts.resourceType()) && facts.resourceId() != null && facts.patients().isEmpty()
        && intentIndex != null) {
      facts = facts.withContent(facts.contentSha256(), java.util.Set.of("Patient/" + facts.resourceId()));
    }
    EntryRecord record = intentIndex == null ? base(request, facts).build() : outcome(request, facts, intentIndex);
    return append(List.of(record)).get(0);
  }

  /**
   * Appends the entry of an interaction that failed before or instead of an answer from the EHR
   * (refused input, EHR unreachable, ...).
   *
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append
   */
  public long recordFailed(RequestDetails request, RestOperationTypeEnum operation, Long intentIndex, int status) {
    Interaction interaction = LedgerInteractions.of(operation, request);
    RecordedFacts facts = RecordedFacts.of(interaction, status, type(request), id(request), version(request));
    EntryRecord record = intentIndex == null ? base(request, facts).build() : outcome(request, facts, intentIndex);
    return append(List.of(record)).get(0);
  }

  /** Parses a FHIR response body (JSON or XML); empty when it is not one. */
  public Optional<IBaseResource> parse(byte[] body, String contentType) {
    return content.parse(body, contentType);
  }

  private EntryRecord outcome(RequestDetails request, RecordedFacts facts, long intentIndex) {
    return base(request, facts).outcomeOfIntent(intentIndex).build();
  }

  private EntryRecord.Builder base(RequestDetails request, RecordedFacts facts) {
    List<Pseudonym> patients = new ArrayList<>();
    for (String ref : RecordedFacts.sorted(facts.patients())) {
      try {
        patients.add(pseudonymizer.pseudonymFor(ref));
      } catch (LedgerUnavailableException e) {
        throw ledgerDown(e);
      }
    }
    EntryRecord.Builder b = EntryRecord.builder()
        .time(clock.instant())
        .origin(origin)
        .interaction(facts.interaction())
        .resource(facts.resourceType(), safeId(facts.resourceId()), safeId(facts.resourceVersion()))
        .contentSha256(facts.contentSha256())
        .actor(ANONYMOUS)
        .requestId(requestId(request))
        .patients(patients);
    if (facts.httpStatus() > 0) {
      b.outcome(outcomeOf(facts.httpStatus()), facts.httpStatus());
    }
    return b;
  }

  private List<Long> append(List<EntryRecord> records) {
    try {
      List<CompletableFuture<AppendResult>> pending = new ArrayList<>(records.size());
      for (EntryRecord r : records) {
        pending.add(ledger.appendAsync(EntryCodec.encode(r)));
      }
      List<Long> indices = new ArrayList<>(records.size());
      for (CompletableFuture<AppendResult> f : pending) {
        indices.add(f.join().index());
      }
      return indices;
    } catch (CompletionException e) {
      throw ledgerDown(e.getCause() == null ? e : e.getCause());
    } catch (RuntimeException e) {
      throw ledgerDown(e);
    }
  }

  static UnclassifiedServerFailureException ledgerDown(Throwable cause) {
    log.error("The ledger could not record an interaction: {}", cause.getClass().getSimpleName());
    return new LedgerDownException();
  }

  /** The 503 of a request the gateway refused because it could not record it. */
  static final class LedgerDownException extends UnclassifiedServerFailureException {
    LedgerDownException() {
      super(503, "The gateway's ledger cannot record this interaction right now, so the gateway refused it "
          + "(nothing was forwarded, or, for a write already forwarded, its recorded intent will be reconciled). "
          + "Try again later.");
    }
  }

  /** Whether {@code failure} is this recorder's refusal because the ledger could not append. */
  public static boolean isLedgerDown(Throwable failure) {
    return failure instanceof LedgerDownException;
  }

  static Outcome outcomeOf(int status) {
    if (status < 400) {
      return Outcome.SUCCESS;
    }
    return status == 401 || status == 403 ? Outcome.DENIED : Outcome.FAILED;
  }

  private static boolean isOperationOutcome(IBaseResource r) {
    return "OperationOutcome".equals(r.fhirType());
  }

  private String type(RequestDetails request) {
    String t = request.getResourceName();
    return t != null && request.getFhirContext().getResourceTypes().contains(t) ? t : null;
  }

  private static String id(RequestDetails request) {
    return request.getId() != null && request.getId().hasIdPart() ? request.getId().getIdPart() : null;
  }

  private static String version(RequestDetails request) {
    return request.getId() != null && request.getId().hasVersionIdPart() ? request.getId().getVersionIdPart() : null;
  }

  private static String safeId(String id) {
    return id != null && FHIR_ID.matcher(id).matches() ? id : null;
  }

  private static String requestId(RequestDetails request) {
    String id = request.getRequestId();
    return id != null && REQUEST_ID.matcher(id).matches() ? id : "gw-" + UUID.randomUUID();
  }
}
