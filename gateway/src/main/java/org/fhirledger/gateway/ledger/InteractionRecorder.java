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
import org.fhirledger.gateway.auth.Caller;
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
import org.fhirledger.ledger.merkle.Rfc6962;
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
 * <p>Every intent is reported to {@link PendingIntents} until its outcome is durable, which is what lets the next
 * start reconcile only the part of the log that may hold intents without outcomes ({@link IntentReconciler}).
 *
 * <p>Nothing that could be PHI is written: patients become pseudonyms, resource types are written
 * only when they are FHIR types and ids only when they have FHIR id syntax, and request ids only
 * when they look like ids.
 */
public final class InteractionRecorder {

  /** The response header that carries the index of the interaction's ledger entry. */
  public static final String HEADER = "X-Ledger-Index";

  /** The actor recorded when no caller is known: security off, or a request refused before its token was read. */
  static final Actor ANONYMOUS = new Actor("anonymous", null, null);

  private static final Logger log = LoggerFactory.getLogger(InteractionRecorder.class);
  private static final Pattern FHIR_ID = Pattern.compile("[A-Za-z0-9\\-.]{1,64}");
  private static final String RECORDED_KEY = InteractionRecorder.class.getName() + ".recorded";
  private static final Pattern REQUEST_ID = Pattern.compile("[A-Za-z0-9\\-._]{1,64}");

  private final Ledger ledger;
  private final Pseudonymizer pseudonymizer;
  private final FhirContent content;
  private final String origin;
  private final Clock clock;
  private final PendingIntents pending;

  InteractionRecorder(Ledger ledger, Pseudonymizer pseudonymizer, FhirContent content, String origin, Clock clock,
      PendingIntents pending) {
    this.pending = Objects.requireNonNull(pending, "pending");
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
    return appendIntent(intent);
  }

  /**
   * Appends the INTENT of erasing a patient's pseudonym secret. The entry names no patient id: only the pseudonym
   * about to become unlinkable, if the patient has one.
   *
   * @return the intent's ledger index
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append: do not erase
   */
  long recordErasureIntent(RequestDetails request, Optional<Pseudonym> erased) {
    EntryRecord intent = erasure(request, erased).type(EntryType.INTENT).build();
    return appendIntent(intent);
  }

  /**
   * Appends the OUTCOME of an erasure intent.
   *
   * @param status 200 when the store answered (whether or not a secret existed), else the failure's status
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append
   */
  long recordErasureOutcome(RequestDetails request, Optional<Pseudonym> erased, long intentIndex, int status) {
    EntryRecord outcome = erasure(request, erased).outcome(outcomeOf(status), status).outcomeOfIntent(intentIndex)
        .build();
    long index = append(List.of(outcome)).get(0).index();
    pending.resolved(intentIndex);
    return index;
  }

  private EntryRecord.Builder erasure(RequestDetails request, Optional<Pseudonym> erased) {
    // Deliberately no resource id: the id would link the entry, and so the erased pseudonym, back to the patient.
    return base(request, RecordedFacts.of(Interaction.ERASURE, 0, "Patient", null, null))
        .patients(erased.map(List::of).orElse(List.of()));
  }

  private long appendIntent(EntryRecord intent) {
    PendingIntents.Ticket ticket = pending.beforeIntent();
    long index;
    try {
      index = append(List.of(intent)).get(0).index();
    } catch (RuntimeException e) {
      pending.appendFailed(ticket);
      throw e;
    }
    pending.appended(ticket, index);
    return index;
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
   * @return the index to report in {@link #HEADER}, and the successful writes recorded (for their Provenance)
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append
   */
  public Answered recordAnswered(RequestDetails request, RestOperationTypeEnum operation, Long intentIndex, int status,
      byte[] body, String contentType, String location, Function<String, Optional<IBaseResource>> storedVersion) {
    Interaction interaction = LedgerInteractions.of(operation, request);
    boolean success = status >= 200 && status < 300;
    RecordedFacts facts = RecordedFacts.of(interaction, status, type(request), id(request), version(request));
    if (intentIndex == null) {
      facts = readFacts(facts, success, body, contentType);
    } else if (interaction == Interaction.BATCH || interaction == Interaction.TRANSACTION) {
      Optional<IBaseResource> parsed = content.parse(body, contentType);
      List<RecordedFacts> entries =
          BundleFacts.of(LedgerInteractions.requestBundle(request), parsed.orElse(null), content);
      List<EntryRecord> records = new ArrayList<>();
      for (int i = 0; i < entries.size(); i++) {
        EntryRecord.Builder b = base(request, entries.get(i)).outcomeOfIntent(intentIndex);
        ConsentNote.ofEntry(request, i).ifPresent(n -> b.consent(n.decision(), n.reference()));
        records.add(b.build());
      }
      if (records.isEmpty()) {
        records.add(outcome(request, RecordedFacts.of(interaction, status, null, null, null), intentIndex));
        entries = List.of();
      }
      List<Appended> appended = appendFinal(request, records);
      pending.resolved(intentIndex);
      List<RecordedWrite> writes = new ArrayList<>();
      for (int i = 0; i < entries.size(); i++) {
        written(entries.get(i), records.get(i), appended.get(i)).ifPresent(writes::add);
      }
      return new Answered(intentIndex, writes);
    } else {
      facts = writeFacts(facts, success, body, contentType, location, storedVersion);
    }
    EntryRecord record = intentIndex == null ? base(request, facts).build() : outcome(request, facts, intentIndex);
    Appended appended = appendFinal(request, List.of(record)).get(0);
    if (intentIndex == null) {
      return new Answered(appended.index(), List.of());
    }
    pending.resolved(intentIndex);
    return new Answered(appended.index(), written(facts, record, appended).stream().toList());
  }

  /** The write an OUTCOME entry recorded, when it is a successful create, update, patch or delete. */
  private static Optional<RecordedWrite> written(RecordedFacts facts, EntryRecord record, Appended appended) {
    boolean write = switch (facts.interaction()) {
      case CREATE, UPDATE, PATCH, DELETE -> true;
      default -> false;
    };
    if (!write || record.outcome() != Outcome.SUCCESS || facts.resourceType() == null || facts.resourceId() == null
        || safeId(facts.resourceId()) == null) {
      return Optional.empty();
    }
    return Optional.of(new RecordedWrite(facts.interaction(), facts.resourceType(), facts.resourceId(),
        safeId(facts.resourceVersion()), record.actor(), record.time(), record.origin(), appended.index(),
        appended.leafHash()));
  }

  /**
   * A read's facts: the SHA-256 of the bytes returned (what the client got, byte for byte) and the
   * patients whose data they hold. A Patient read by id discloses that patient; anything else is
   * scanned (JSON) or parsed to find its resources' Patient-compartment owners.
   */
  private RecordedFacts readFacts(RecordedFacts facts, boolean success, byte[] body, String contentType) {
    if (!success || body.length == 0) {
      return facts;
    }
    boolean patientById = "Patient".equals(facts.resourceType()) && facts.resourceId() != null
        && (facts.interaction() == Interaction.READ || facts.interaction() == Interaction.VREAD);
    java.util.Set<String> patients = patientById
        ? java.util.Set.of("Patient/" + facts.resourceId())
        : content.disclosedPatients(body, contentType);
    return facts.withContent(FhirContent.sha256(body), patients);
  }

  /**
   * A write's facts: the stored version's type, id and version, the SHA-256 of its canonical JSON
   * (read back from the EHR when the answer did not carry it) and the patients it changed.
   */
  private RecordedFacts writeFacts(RecordedFacts facts, boolean success, byte[] body, String contentType,
      String location, Function<String, Optional<IBaseResource>> storedVersion) {
    Optional<IBaseResource> parsed = content.parse(body, contentType);
    Optional<IBaseResource> resource = parsed.filter(r -> !isOperationOutcome(r));
    if (success && resource.isEmpty() && location != null && facts.interaction() != Interaction.DELETE) {
      resource = storedVersion.apply(location);
    }
    if (resource.isPresent()) {
      IBaseResource r = resource.get();
      facts = facts.withContent(content.canonicalSha256(r), content.patients(r));
      if (r.getIdElement().hasIdPart()) {
        facts = facts.withVersion(r.fhirType(), r.getIdElement().getIdPart(), r.getIdElement().getVersionIdPart() != null
            ? r.getIdElement().getVersionIdPart() : r.getMeta().getVersionId());
      }
    } else if (success && body.length > 0 && parsed.isEmpty()) {
      facts = facts.withContent(FhirContent.sha256(body), java.util.Set.of());
    }
    if ("Patient".equals(facts.resourceType()) && facts.resourceId() != null && facts.patients().isEmpty()) {
      facts = facts.withContent(facts.contentSha256(), java.util.Set.of("Patient/" + facts.resourceId()));
    }
    return facts;
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
    return appendFinal(request, List.of(record), intentIndex);
  }

  /**
   * Appends the entry of an interaction the gateway answered itself rather than forwarding (its
   * audit trail, for example). Call once the answer is built and before it is sent.
   *
   * @param returned the resource returned to the client; its canonical JSON is digested
   * @param patients references ({@code Patient/123}) of patients whose data the answer discloses;
   *     pass only patients that already have a pseudonym secret, so that asking about an erased
   *     patient does not make them linkable again
   * @return the index to report in {@link #HEADER}
   * @throws UnclassifiedServerFailureException (503) if the ledger cannot append
   */
  public long recordServed(RequestDetails request, RestOperationTypeEnum operation, IBaseResource returned,
      java.util.Set<String> patients) {
    Interaction interaction = LedgerInteractions.of(operation, request);
    RecordedFacts facts = RecordedFacts.of(interaction, 200, type(request), id(request), version(request))
        .withContent(content.canonicalSha256(returned), patients);
    return appendFinal(request, List.of(base(request, facts).build()), null);
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
        .resource(facts.resourceType(), ledgerId(facts), ledgerVersion(facts))
        .contentSha256(facts.contentSha256())
        .requestId(requestId(request))
        .patients(patients);
    recordCaller(b, request);
    ConsentNote.of(request).ifPresent(n -> b.consent(n.decision(), n.reference()));
    if (facts.httpStatus() > 0) {
      b.outcome(outcomeOf(facts.httpStatus()), facts.httpStatus());
    }
    return b;
  }

  /**
   * The caller of an authenticated request (client, user, organization, purpose of use, and the patient in
   * context as a pseudonym), else {@link #ANONYMOUS}. A patient who is the user is never named: only the
   * pseudonym of the patient in context is written.
   */
  private void recordCaller(EntryRecord.Builder b, RequestDetails request) {
    Optional<Caller> caller = Caller.of(request);
    if (caller.isEmpty()) {
      b.actor(ANONYMOUS);
      return;
    }
    Caller c = caller.get();
    String user = c.fhirUser();
    if (user != null && (user.contains("Patient/") || user.contains("RelatedPerson/"))) {
      user = null;
    }
    b.actor(new Actor(c.clientId(), user, c.organization())).purposeOfUse(c.purposeOfUse());
    if (c.patientReference() != null) {
      try {
        b.contextPatient(pseudonymizer.pseudonymFor(c.patientReference()));
      } catch (LedgerUnavailableException e) {
        throw ledgerDown(e);
      }
    }
  }

  /**
   * Whether this request's interaction already has its (final) entry: set by every record method
   * but {@link #recordIntent}, so an error raised afterwards is not recorded a second time.
   */
  public static boolean isRecorded(RequestDetails request) {
    return request.getUserData().containsKey(RECORDED_KEY);
  }

  private List<Appended> appendFinal(RequestDetails request, List<EntryRecord> records) {
    List<Appended> appended = append(records);
    request.getUserData().put(RECORDED_KEY, Boolean.TRUE);
    return appended;
  }

  /** Appends one final entry; if it settles an intent, the intent is no longer pending. */
  private long appendFinal(RequestDetails request, List<EntryRecord> records, Long intentIndex) {
    long index = appendFinal(request, records).get(0).index();
    if (intentIndex != null) {
      pending.resolved(intentIndex);
    }
    return index;
  }

  /** Pseudonyms fit in one entry beside the rest of a record: the patient field and the entry are at most 65535 bytes. */
  static final int MAX_PATIENTS_FIELD = 0xFFFF / 32;

  /**
   * The records to append: each as it is, unless it names more patients than fit in one entry (a search page of
   * thousands of patients); then as several entries with the same facts, each naming a part of the patients, in
   * order. Every patient is still named once, so each one's access report lists the access. The first of them is
   * the one whose index the caller reports.
   */
  static List<EntryRecord> fitted(List<EntryRecord> records) {
    List<EntryRecord> out = new ArrayList<>(records.size());
    for (EntryRecord r : records) {
      if (r.patients().size() <= 256) {
        out.add(r);
        continue;
      }
      int rest = EntryCodec.encode(r.withPatients(List.of())).length + 3;
      int perEntry = Math.min(MAX_PATIENTS_FIELD, (0xFFFF - rest) / 32);
      List<Pseudonym> all = r.patients();
      for (int from = 0; from < all.size(); from += perEntry) {
        out.add(r.withPatients(all.subList(from, Math.min(all.size(), from + perEntry))));
      }
    }
    return out;
  }

  /** An appended entry: its index and RFC 6962 leaf hash. */
  private record Appended(long index, byte[] leafHash) {}

  /** Appends the records; one {@link Appended} per record (its first entry, when it had to be split). */
  private List<Appended> append(List<EntryRecord> records) {
    try {
      List<CompletableFuture<AppendResult>> firsts = new ArrayList<>(records.size());
      List<CompletableFuture<AppendResult>> all = new ArrayList<>(records.size());
      List<byte[]> leafHashes = new ArrayList<>(records.size());
      for (EntryRecord record : records) {
        List<EntryRecord> pieces = fitted(List.of(record));
        for (int p = 0; p < pieces.size(); p++) {
          byte[] encoded = EntryCodec.encode(pieces.get(p));
          CompletableFuture<AppendResult> f = ledger.appendAsync(encoded);
          all.add(f);
          if (p == 0) {
            leafHashes.add(Rfc6962.leafHash(encoded));
            firsts.add(f);
          }
        }
      }
      for (CompletableFuture<AppendResult> f : all) {
        f.join();
      }
      List<Appended> appended = new ArrayList<>(records.size());
      for (int i = 0; i < firsts.size(); i++) {
        appended.add(new Appended(firsts.get(i).join().index(), leafHashes.get(i)));
      }
      return appended;
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

  /**
   * A Patient's own id never goes on the ledger: the patient is named by the pseudonym, which erasure
   * can make unlinkable, whereas a clear id would link the entry to the patient forever.
   */
  static String ledgerId(RecordedFacts facts) {
    return "Patient".equals(facts.resourceType()) ? null : safeId(facts.resourceId());
  }

  static String ledgerVersion(RecordedFacts facts) {
    return "Patient".equals(facts.resourceType()) ? null : safeId(facts.resourceVersion());
  }

  static String safeId(String id) {
    return id != null && FHIR_ID.matcher(id).matches() ? id : null;
  }

  private static String requestId(RequestDetails request) {
    String id = request.getRequestId();
    return id != null && REQUEST_ID.matcher(id).matches() ? id : "gw-" + UUID.randomUUID();
  }
}
