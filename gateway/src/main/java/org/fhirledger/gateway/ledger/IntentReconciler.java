package org.fhirledger.gateway.ledger;

import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Resource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Settles, on start and before the gateway serves anything, every write whose INTENT is on the ledger without an
 * OUTCOME (the gateway died between forwarding it and recording the EHR's answer): it reads the EHR and appends an
 * OUTCOME of that intent recording what is actually there. Not thread-safe; run once, alone.
 *
 * <p><b>Which intents:</b> those whose entries carry the owner's origin (in a shared log, the intents of one gateway
 * instance or member), and only from the owner's stored watermark ({@link WatermarkStore}, {@link PendingIntents})
 * onwards, read in chunks of 4096 entries: every intent below the watermark already has its outcome. The owner is
 * this gateway itself, except when a survivor settles the intents of a dead instance of a shared PostgreSQL ledger
 * ({@link OrphanIntentReconciler}); the outcomes always carry the origin of the gateway that writes them.
 *
 * <p><b>What is recorded:</b> an OUTCOME whose {@code intentIndex} is the intent, whose interaction is {@link
 * Interaction#RECONCILE} (so nobody mistakes it for the EHR's own answer to the write: it is what the gateway found
 * afterwards), and whose request id, actor and purpose are the intent's. Its outcome says what the EHR holds
 * <i>now</i>, not whether the write took effect:
 *
 * <ul>
 *   <li>{@code SUCCESS}, 200: the resource is there; type, id, current version, SHA-256 of its canonical JSON
 *       ({@link FhirContent}) and the pseudonyms of its patients are recorded;
 *   <li>{@code FAILED}, 404 or 410: the resource is not there, or deleted (what a successful delete leaves);
 *   <li>{@code FAILED} with <b>no HTTP status</b>: what happened cannot be established (a transaction or batch, an
 *       operation, a conditional delete, an EHR that cannot search by request id, more than one candidate, an
 *       answer other than 200, 404, 410 or 5xx).
 * </ul>
 *
 * <p>An update, patch or delete names its resource, which is read. A create (or a conditional update or patch)
 * does not: it is found by the request id the gateway forwarded as {@code X-Request-ID}, which HAPI-based EHRs
 * keep in {@code meta.source} ({@code #<request id>}) and search with {@code _source}; a match counts only if its
 * {@code meta.source} really ends with that id (an EHR that ignores {@code _source} answers with everything) and
 * it was not stored more than {@link #CLOCK_SKEW} before the intent (HAPI takes a client's {@code X-Request-ID}, so
 * an earlier request may have used the same id).
 *
 * <p><b>Failure:</b> if the EHR cannot be reached or answers 5xx, or the ledger cannot append, {@link #reconcile}
 * throws and the gateway does not start (fail-closed: it must not serve while it owes the ledger an outcome).
 */
final class IntentReconciler {

  private static final Logger log = LoggerFactory.getLogger(IntentReconciler.class);
  static final int CHUNK = 4096;
  /** How far the EHR's clock may lag the gateway's before a match by request id is deemed too old to be ours. */
  static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

  private final Ledger ledger;
  private final Pseudonymizer pseudonymizer;
  private final FhirContent content;
  private final UpstreamFhirClient upstream;
  private final String origin;
  private final String owner;
  private final Clock clock;

  IntentReconciler(Ledger ledger, Pseudonymizer pseudonymizer, FhirContent content, UpstreamFhirClient upstream,
      String origin, Clock clock) {
    this(ledger, pseudonymizer, content, upstream, origin, origin, clock);
  }

  /**
   * @param origin the origin of the outcomes this reconciler appends (the gateway running it)
   * @param owner the origin of the intents it settles
   */
  IntentReconciler(Ledger ledger, Pseudonymizer pseudonymizer, FhirContent content, UpstreamFhirClient upstream,
      String origin, String owner, Clock clock) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.pseudonymizer = Objects.requireNonNull(pseudonymizer, "pseudonymizer");
    this.content = Objects.requireNonNull(content, "content");
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.origin = Objects.requireNonNull(origin, "origin");
    this.owner = Objects.requireNonNull(owner, "owner");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * Reconciles every intent without an outcome at or above the stored watermark, then stores the new watermark.
   *
   * @return the new watermark: every intent below it has its outcome, durably
   * @throws ReconciliationException if the EHR or the ledger failed; nothing is then known to be settled
   */
  long reconcile(WatermarkStore watermarkFile) {
    try {
      long size = ledger.latestCheckpoint().size();
      OptionalLong stored = watermarkFile.read();
      long from = stored.orElse(0);
      if (from > size) {
        log.warn("The reconciliation watermark {} is beyond the ledger's size {}; scanning the whole log", from, size);
        from = 0;
      }
      Map<Long, EntryRecord> open = openIntents(from, size);
      for (Map.Entry<Long, EntryRecord> intent : open.entrySet()) {
        RecordedFacts facts = establish(intent.getValue());
        ledger.append(EntryCodec.encode(outcome(intent.getKey(), intent.getValue(), facts)));
        log.info("Reconciled the {} intent at ledger index {}: EHR status {}", intent.getValue().interaction(),
            intent.getKey(),
            facts.httpStatus() == 0 ? "(not established)" : facts.httpStatus());
      }
      long watermark = ledger.latestCheckpoint().size();
      watermarkFile.write(watermark);
      if (open.isEmpty() && !owner.equals(origin)) {
        log.debug("Reconciliation of {}'s intents scanned ledger entries [{}, {}): nothing to settle", owner, from,
            size);
      } else {
        log.info("Reconciliation of {}'s intents scanned ledger entries [{}, {}) and settled {} intent(s)", owner,
            from, size, open.size());
      }
      return watermark;
    } catch (LedgerUnavailableException | IOException e) {
      throw new ReconciliationException("the ledger could not be read or appended to", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ReconciliationException("interrupted", e);
    }
  }

  /** Intents in {@code [from, to)} without an outcome in that range, by index, in ledger order. */
  Map<Long, EntryRecord> openIntents(long from, long to) throws LedgerUnavailableException {
    Map<Long, EntryRecord> open = new LinkedHashMap<>();
    for (long start = from; start < to; start += CHUNK) {
      for (LedgerEntry entry : ledger.entries(start, Math.min(to, start + CHUNK))) {
        EntryRecord record;
        try {
          record = EntryCodec.decode(entry.data());
        } catch (IllegalArgumentException e) {
          log.warn("Ledger entry {} is not a gateway entry; skipped by reconciliation", entry.index());
          continue;
        }
        if (record.type() == EntryType.INTENT && owner.equals(record.origin())) {
          // In a shared log only the owner's intents are this reconciliation's to settle.
          open.put(entry.index(), record);
        } else if (record.type() == EntryType.OUTCOME) {
          open.remove(record.intentIndex());
        }
      }
    }
    return open;
  }

  /** What the EHR holds now for the intent's resource. */
  RecordedFacts establish(EntryRecord intent) {
    String type = intent.resourceType();
    String id = intent.resourceId();
    Interaction asked = intent.interaction();
    boolean namesResource = type != null && id != null;
    if (namesResource && (asked == Interaction.UPDATE || asked == Interaction.PATCH || asked == Interaction.DELETE
        || asked == Interaction.CREATE)) {
      return readById(type, id);
    }
    if (type != null && (asked == Interaction.CREATE || asked == Interaction.UPDATE || asked == Interaction.PATCH)) {
      return findBySource(type, intent.requestId(), intent.time());
    }
    return unknown(type, id);
  }

  private RecordedFacts readById(String type, String id) {
    UpstreamResponse read = get("/" + type + "/" + id);
    if (read.status() == 404 || read.status() == 410) {
      return RecordedFacts.of(Interaction.RECONCILE, read.status(), type, id, null);
    }
    Optional<IBaseResource> resource = read.status() == 200
        ? content.parse(read.body(), read.header("content-type").orElse("application/fhir+json"))
        : Optional.empty();
    if (resource.isEmpty() || !type.equals(resource.get().fhirType())) {
      return unknown(type, id);
    }
    return found(resource.get());
  }

  private RecordedFacts findBySource(String type, String requestId, Instant intentTime) {
    String marker = "#" + requestId;
    UpstreamResponse search = get("/" + type + "?_source=" + URLEncoder.encode(marker, StandardCharsets.UTF_8)
        + "&_count=2");
    Optional<IBaseResource> parsed = search.status() == 200
        ? content.parse(search.body(), search.header("content-type").orElse("application/fhir+json"))
        : Optional.empty();
    if (parsed.isEmpty() || !(parsed.get() instanceof Bundle bundle)) {
      return unknown(type, null);
    }
    List<Resource> matches = new ArrayList<>();
    for (Bundle.BundleEntryComponent e : bundle.getEntry()) {
      if (!e.hasResource() || !type.equals(e.getResource().fhirType())) {
        continue;
      }
      String source = e.getResource().getMeta().getSource();
      if (source == null || !source.endsWith(marker)) {
        // The EHR did not filter by _source: it cannot tell us what this request created.
        return unknown(type, null);
      }
      matches.add(e.getResource());
    }
    if (matches.size() == 1) {
      java.util.Date lastUpdated = matches.get(0).getMeta().getLastUpdated();
      if (lastUpdated != null && lastUpdated.toInstant().isBefore(intentTime.minus(CLOCK_SKEW))) {
        // Stored well before this write was even intended: another request with the same (client-chosen) id.
        return unknown(type, null);
      }
      return found(matches.get(0));
    }
    if (matches.isEmpty() && !requestId.startsWith("gw-")) {
      return RecordedFacts.of(Interaction.RECONCILE, 404, type, null, null);
    }
    // Several candidates, or an id the recorder made up (the EHR was sent another one): cannot be established.
    return unknown(type, null);
  }

  private RecordedFacts found(IBaseResource resource) {
    String version = resource.getIdElement().getVersionIdPart() != null
        ? resource.getIdElement().getVersionIdPart() : resource.getMeta().getVersionId();
    return RecordedFacts.of(Interaction.RECONCILE, 200, resource.fhirType(), resource.getIdElement().getIdPart(),
            version)
        .withContent(content.canonicalSha256(resource), content.patients(resource));
  }

  private static RecordedFacts unknown(String type, String id) {
    return RecordedFacts.of(Interaction.RECONCILE, 0, type, id, null);
  }

  private UpstreamResponse get(String pathAndQuery) {
    UpstreamResponse response;
    try {
      response = upstream.exchange(new UpstreamRequest("GET", pathAndQuery,
          Map.of("accept", List.of("application/fhir+json")), new byte[0]));
    } catch (RuntimeException e) {
      throw new ReconciliationException("the EHR could not be read (" + e.getClass().getSimpleName() + ")", e);
    }
    if (response.status() >= 500) {
      throw new ReconciliationException("the EHR answered " + response.status(), null);
    }
    return response;
  }

  private EntryRecord outcome(long intentIndex, EntryRecord intent, RecordedFacts facts)
      throws LedgerUnavailableException {
    List<Pseudonym> patients = new ArrayList<>();
    for (String ref : RecordedFacts.sorted(facts.patients())) {
      patients.add(pseudonymizer.pseudonymFor(ref));
    }
    EntryRecord.Builder b = EntryRecord.builder()
        .time(clock.instant())
        .origin(origin)
        .interaction(Interaction.RECONCILE)
        .resource(facts.resourceType(), InteractionRecorder.ledgerId(facts), InteractionRecorder.ledgerVersion(facts))
        .contentSha256(facts.contentSha256())
        .actor(intent.actor())
        .purposeOfUse(intent.purposeOfUse())
        .contextPatient(intent.contextPatient())
        .requestId(intent.requestId())
        .patients(patients)
        .outcomeOfIntent(intentIndex);
    if (facts.httpStatus() > 0) {
      b.outcome(InteractionRecorder.outcomeOf(facts.httpStatus()), facts.httpStatus());
    } else {
      b.outcome(Outcome.FAILED);
    }
    return b.build();
  }

  /** Start-up reconciliation could not finish; the gateway must not serve. Carries no PHI. */
  static final class ReconciliationException extends IllegalStateException {
    ReconciliationException(String what, Throwable cause) {
      super("Reconciling unfinished writes failed: " + what
          + "; the gateway will not serve until they are settled. Restart once the EHR and the ledger are available.",
          cause);
    }
  }

}
