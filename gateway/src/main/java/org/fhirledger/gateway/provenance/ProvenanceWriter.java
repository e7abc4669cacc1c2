package org.fhirledger.gateway.provenance;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
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

  /**
   * @param fhirContext an R4 context; the writer encodes with its own parser settings that keep the versions of
   *     Provenance targets (HAPI strips versions from references by default)
   */
  public ProvenanceWriter(UpstreamFhirClient upstream, FhirContext fhirContext) {
    this.upstream = Objects.requireNonNull(upstream, "upstream");
    this.fhirContext = Objects.requireNonNull(fhirContext, "fhirContext");
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
    IParser parser = parser();
    UpstreamRequest request;
    if (provenances.size() == 1) {
      request = new UpstreamRequest("POST", "/Provenance", headers(requestId),
          parser.encodeResourceToString(provenances.get(0)).getBytes(StandardCharsets.UTF_8));
    } else {
      Bundle tx = new Bundle().setType(Bundle.BundleType.TRANSACTION);
      for (Provenance p : provenances) {
        tx.addEntry().setResource(p).getRequest().setMethod(Bundle.HTTPVerb.POST).setUrl("Provenance");
      }
      request = new UpstreamRequest("POST", "/", headers(requestId),
          parser.encodeResourceToString(tx).getBytes(StandardCharsets.UTF_8));
    }
    try {
      UpstreamResponse response = upstream.exchange(request);
      if (response.status() >= 200 && response.status() < 300) {
        written.addAndGet(provenances.size());
        return provenances.size();
      }
      failedAll(writes, "the EHR answered " + response.status());
    } catch (RuntimeException e) {
      failedAll(writes, e.getClass().getSimpleName());
    }
    return 0;
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
