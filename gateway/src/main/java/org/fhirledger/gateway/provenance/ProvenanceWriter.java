package org.fhirledger.gateway.provenance;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.fhirledger.gateway.ledger.RecordedWrite;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Provenance;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores in the EHR a Provenance for every successful write through the gateway, conforming to
 * {@link GatewayProfiles#GATEWAY_PROVENANCE}: the versioned target, when the ledger recorded the write, who wrote it
 * and for which organization, the activity, and the ledger receipt of the write's OUTCOME entry.
 *
 * <p>Runs after the write's outcome is on the ledger and before the client gets its answer, so a client that reads
 * right after its write finds the Provenance ({@code _revinclude=Provenance:target}). The writes of one request go
 * to the EHR in one request: a single create, or one transaction bundle for the entries of a batch or transaction.
 * Writes of Provenance resources get none (no Provenance of Provenance).
 *
 * <p><b>Group commit</b> (with {@code maxBatch} above 1; off by default, as on a HAPI JPA EHR it saved no CPU and,
 * with one bundle in flight at a time, halved create throughput). When several requests finish their writes at the
 * same time, their Provenances go to the EHR
 * together, as one transaction bundle, instead of one POST each: the first request to arrive sends its own at once;
 * requests that arrive while a send is in flight queue up, and the next of them sends everything queued (at most
 * {@code maxBatch} Provenances) as one bundle. Every request still waits until its own Provenances are stored, so a
 * client that reads right after its write finds them. Should the EHR refuse a grouped bundle, each request's
 * Provenances are sent again on their own, so that one refused Provenance does not cost the others theirs.
 *
 * <p>The client's write has already happened when this runs, so a Provenance that the EHR refuses or cannot take
 * does not fail the client's request: it is logged (ledger index and status only, no resource ids) and counted in
 * {@link #failures()}. The write's ledger entry holds everything the Provenance would, so a missing one can be
 * rebuilt from the log. Thread-safe.
 */
public final class ProvenanceWriter {

  static final String DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation";
  static final String PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type";

  private static final Logger log = LoggerFactory.getLogger(ProvenanceWriter.class);
  private static final Pattern ETAG_VERSION = Pattern.compile("^(?:W/)?\"([A-Za-z0-9\\-.]{1,64})\"$");
  private static final Map<String, List<String>> JSON_HEADERS = Map.of(
      "content-type", List.of("application/fhir+json; charset=UTF-8"),
      "accept", List.of("application/fhir+json"),
      "prefer", List.of("return=minimal"));

  private final UpstreamFhirClient upstream;
  private final FhirContext fhirContext;
  private final AtomicLong written = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();
  private final AtomicLong sends = new AtomicLong();
  private final int maxBatch;
  /** Requests waiting for their Provenances to be sent, oldest first; guarded by itself. */
  private final ArrayDeque<Pending> queue = new ArrayDeque<>();
  /** Whether a request is sending a group right now; guarded by {@link #queue}. */
  private boolean sending;

  /**
   * @param fhirContext an R4 context; the writer encodes with its own parser settings that keep the versions of
   *     Provenance targets (HAPI strips versions from references by default)
   */
  public ProvenanceWriter(UpstreamFhirClient upstream, FhirContext fhirContext) {
    this(upstream, fhirContext, 1);
  }

  /**
   * @param maxBatch most Provenances of concurrent requests sent to the EHR in one bundle; 1 sends each request's on
   *     its own
   */
  public ProvenanceWriter(UpstreamFhirClient upstream, FhirContext fhirContext, int maxBatch) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be at least 1: " + maxBatch);
    }
    this.maxBatch = maxBatch;
  }

  /**
   * Stores the Provenance of {@code writes} (those of one client request) in the EHR.
   *
   * @param requestId the gateway's id of the client's request, sent along as X-Request-ID
   * @return how many Provenance resources the EHR accepted
   */
  public int write(List<RecordedWrite> writes, String requestId) {
    List<Provenance> provenances = new ArrayList<>();
    for (RecordedWrite w : writes) {
      if ("Provenance".equals(w.resourceType())) {
        continue;
      }
      RecordedWrite versioned = w.versionId() != null ? w : latestVersion(w, requestId).map(w::withVersion).orElse(null);
      if (versioned == null) {
        failed(w, "its version could not be read back");
        continue;
      }
      provenances.add(provenanceOf(versioned));
    }
    if (provenances.isEmpty()) {
      return 0;
    }
    Pending mine = new Pending(provenances, writes, requestId);
    if (maxBatch == 1) {
      send(List.of(mine));
      return mine.stored;
    }
    boolean lead;
    synchronized (queue) {
      queue.add(mine);
      lead = !sending;
      sending = true;
    }
    if (!lead && mine.signal.join() == Pending.DONE) {
      return mine.stored;
    }
    // This request sends: it is at the head of the queue (the queue was empty, or the previous sender promoted it).
    List<Pending> group = new ArrayList<>();
    int size = 0;
    Pending next;
    synchronized (queue) {
      while ((next = queue.peek()) != null
          && (group.isEmpty() || size + next.provenances.size() <= maxBatch)) {
        group.add(queue.poll());
        size += next.provenances.size();
      }
    }
    try {
      send(group);
    } finally {
      synchronized (queue) {
        next = queue.peek();
        sending = next != null;
      }
      for (Pending p : group) {
        if (p != mine) {
          p.signal.complete(Pending.DONE);
        }
      }
      if (next != null) {
        next.signal.complete(Pending.LEAD);
      }
    }
    return mine.stored;
  }

  /** Sends the Provenances of {@code group} (one or more requests) in one EHR request; each one's outcome in it. */
  private void send(List<Pending> group) {
    List<Provenance> all = new ArrayList<>();
    group.forEach(p -> all.addAll(p.provenances));
    IParser parser = parser();
    UpstreamRequest request;
    String requestId = group.get(0).requestId;
    if (all.size() == 1) {
      request = new UpstreamRequest("POST", "/Provenance", headers(requestId),
          parser.encodeResourceToString(all.get(0)).getBytes(StandardCharsets.UTF_8));
    } else {
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      for (Provenance p : all) {
        tx.addEntry().setResource(p).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Provenance");
      }
      request = new UpstreamRequest("POST", "/", headers(requestId),
          parser.encodeResourceToString(tx).getBytes(StandardCharsets.UTF_8));
    }
    sends.incrementAndGet();
    try {
      UpstreamResponse response = upstream.exchange(request);
      if (response.status() >= 200 && response.status() < 300) {
        written.addAndGet(all.size());
        group.forEach(p -> p.stored = p.provenances.size());
        return;
      }
      if (group.size() > 1) {
        // One request's Provenance may be what the EHR refused: each request on its own, so the others still count.
        group.forEach(p -> send(List.of(p)));
        return;
      }
      failedAll(group.get(0).writes, "the EHR answered " + response.status());
    } catch (RuntimeException e) {
      // Not resent: a write that timed out may have been applied.
      group.forEach(p -> failedAll(p.writes, e.getClass().getSimpleName()));
    }
  }

  /** One request's Provenances, waiting to be sent. */
  private static final class Pending {
    static final Object DONE = new Object();
    static final Object LEAD = new Object();

    final List<Provenance> provenances;
    final List<RecordedWrite> writes;
    final String requestId;
    /** Completed with {@link #DONE} once sent by another request, or {@link #LEAD} when this request is to send. */
    final CompletableFuture<Object> signal = new CompletableFuture<>();
    /** How many of them the EHR stored; written by the sender before {@link #signal} completes. */
    int stored;

    Pending(List<Provenance> provenances, List<RecordedWrite> writes, String requestId) {
      this.provenances = provenances;
      this.writes = writes;
      this.requestId = requestId;
    }
  }

  /** The Provenance of one recorded write, as {@link GatewayProfiles#GATEWAY_PROVENANCE} describes it. */
  public Provenance provenanceOf(RecordedWrite w) {
    Objects.requireNonNull(w.versionId(), "versionId");
    Provenance p = new Provenance();
    p.getMeta().addProfile(GatewayProfiles.GATEWAY_PROVENANCE);
    Extension receipt = p.addExtension().setUrl(GatewayProfiles.LEDGER_RECEIPT);
    receipt.addExtension("origin", new StringType(w.origin()));
    receipt.addExtension("index", new StringType(Long.toString(w.ledgerIndex())));
    receipt.addExtension("leafHash", new Base64BinaryType(w.leafHash()));
    p.addTarget(new Reference(w.resourceType() + "/" + w.resourceId() + "/_history/" + w.versionId()));
    p.setRecordedElement(new InstantType(Date.from(w.recorded())));
    p.setActivity(new CodeableConcept(activity(w)));
    Actor actor = w.actor();
    Reference client = new Reference()
        .setIdentifier(new Identifier().setSystem(GatewayProfiles.CLIENT_ID_SYSTEM).setValue(actor.clientId()))
        .setDisplay(actor.clientId());
    Provenance.ProvenanceAgentComponent author = p.addAgent()
        .setType(new CodeableConcept(new Coding(PARTICIPANT_TYPE, "author", "Author")));
    if (actor.user() != null) {
      author.setWho(new Reference(actor.user()));
      // The application the user wrote through.
      Provenance.ProvenanceAgentComponent app = p.addAgent()
          .setType(new CodeableConcept(new Coding(PARTICIPANT_TYPE, "enterer", "Enterer")))
          .setWho(client);
      if (actor.organization() != null) {
        app.setOnBehalfOf(new Reference(actor.organization()));
      }
    } else {
      author.setWho(client);
    }
    if (actor.organization() != null) {
      author.setOnBehalfOf(new Reference(actor.organization()));
    }
    return p;
  }

  /** Provenance resources the EHR accepted since start. */
  public long written() {
    return written.get();
  }

  /** Requests sent to the EHR to store Provenances since start (fewer than requests served when grouped). */
  public long sends() {
    return sends.get();
  }

  /** Requests waiting for another to send their Provenances (for tests). */
  int queued() {
    synchronized (queue) {
      return queue.size();
    }
  }

  /** Provenance resources that could not be stored since start. */
  public long failures() {
    return failures.get();
  }

  /** A parser that keeps the versions of Provenance targets. */
  private IParser parser() {
    return fhirContext.newJsonParser()
        .setDontStripVersionsFromReferencesAtPaths("Provenance.target");
  }

  private static Coding activity(RecordedWrite w) {
    return switch (w.interaction()) {
      case CREATE -> new Coding(DATA_OPERATION, "CREATE", "create");
      case DELETE -> new Coding(DATA_OPERATION, "DELETE", "delete");
      default -> new Coding(DATA_OPERATION, "UPDATE", "revise");
    };
  }

  /**
   * The current version of a written resource, for writes whose answer named none (a delete: the EHR keeps the
   * deletion as a new version). Read from the resource's history, newest first.
   */
  private Optional<String> latestVersion(RecordedWrite w, String requestId) {
    try {
      UpstreamResponse history = upstream.exchange(new UpstreamRequest("GET",
          "/" + w.resourceType() + "/" + w.resourceId() + "/_history?_count=1",
          Map.of("accept", List.of("application/fhir+json"), "x-request-id", List.of(requestId)), new byte[0]));
      if (history.status() != 200) {
        return Optional.empty();
      }
      Bundle bundle = fhirContext.newJsonParser().parseResource(Bundle.class,
          new String(history.body(), StandardCharsets.UTF_8));
      if (bundle.getEntry().isEmpty()) {
        return Optional.empty();
      }
      Bundle.BundleEntryComponent newest = bundle.getEntryFirstRep();
      if (newest.hasResource() && newest.getResource().getMeta().hasVersionId()) {
        return Optional.of(newest.getResource().getMeta().getVersionId());
      }
      if (newest.hasResponse() && newest.getResponse().hasEtag()) {
        Matcher m = ETAG_VERSION.matcher(newest.getResponse().getEtag());
        if (m.matches()) {
          return Optional.of(m.group(1));
        }
      }
      if (newest.hasRequest() && newest.getRequest().hasUrl()) {
        String url = newest.getRequest().getUrl();
        int at = url.indexOf("/_history/");
        if (at > 0) {
          return Optional.of(url.substring(at + "/_history/".length()));
        }
      }
      return Optional.empty();
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private static Map<String, List<String>> headers(String requestId) {
    Map<String, List<String>> h = new java.util.HashMap<>(JSON_HEADERS);
    h.put("x-request-id", List.of(requestId));
    return h;
  }

  private void failedAll(List<RecordedWrite> writes, String why) {
    writes.stream().filter(w -> !"Provenance".equals(w.resourceType())).forEach(w -> failed(w, why));
  }

  private void failed(RecordedWrite w, String why) {
    failures.incrementAndGet();
    // Ledger index only: the resource id may identify a patient.
    log.warn("The Provenance of the write at ledger index {} was not stored: {}", w.ledgerIndex(), why);
  }
}
