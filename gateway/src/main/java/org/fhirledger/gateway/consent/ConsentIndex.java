package org.fhirledger.gateway.consent;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.IParser;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Consent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The patients' {@code patient-privacy} Consents, in memory, keyed by patient for fast decisions. The EHR is the
 * source of truth: {@link #rebuild} pages every such Consent from it, and the write path calls
 * {@link #onConsentWritten} after each successful Consent create, update, patch or delete.
 *
 * <p>Thread-safe: lookups are lock-free and see either the state before or after each change; changes are serialised.
 * Each Consent id keeps only its newest version (by numeric version id), so writes reported out of order do not roll
 * an index entry back, and a write reported during a rebuild is re-applied on top of the rebuilt state.
 *
 * <p>{@link #inSync} is false until the first rebuild (or {@link #load}) succeeds, after a rebuild fails, and while a
 * Consent write could not be read back from the EHR; {@link IndexedConsentService} then denies everything.
 * {@link #retryOutstanding} repairs it. Nothing here logs PHI: only Consent ids and counts.
 */
public final class ConsentIndex {

  private static final Logger log = LoggerFactory.getLogger(ConsentIndex.class);
  private static final Map<String, List<String>> ACCEPT_JSON = Map.of("accept", List.of("application/fhir+json"));

  private final FhirContext fhir;
  private final UpstreamFhirClient upstream;
  private final int pageSize;

  private final Object lock = new Object();
  /** Active, applicable Consents by {@code Patient/<id>}; lists are immutable and replaced whole. */
  private volatile ConcurrentHashMap<String, List<CompiledConsent>> byPatient = new ConcurrentHashMap<>();
  // Guarded by lock:
  private Map<String, CompiledConsent> byId = new HashMap<>();
  private Map<String, String> deletedVersions = new HashMap<>();
  private final Set<String> outstanding = new HashSet<>();
  private List<Write> duringRebuild;
  private boolean loaded;
  private boolean rebuildFailed;
  private volatile boolean inSync;

  /**
   * What a rebuild did.
   *
   * @param consents patient-privacy Consents read (any status)
   * @param pages search pages read from the EHR
   * @param millis wall-clock time of the rebuild
   */
  public record RebuildReport(int consents, int pages, long millis) {}

  /** A Consent write as reported by the write path: the new version, or a deletion. */
  private record Write(String id, CompiledConsent consent, String deletedVersion) {}

  /**
   * @param fhir the R4 context used to parse the EHR's answers
   * @param upstream the EHR; may be null for an index that is only ever {@link #load}ed (tests, benchmarks)
   * @param pageSize the {@code _count} of each page when rebuilding, 1..1000
   */
  public ConsentIndex(FhirContext fhir, UpstreamFhirClient upstream, int pageSize) {
    this.fhir = Objects.requireNonNull(fhir, "fhir");
    this.upstream = upstream;
    if (pageSize < 1 || pageSize > 1000) {
      throw new IllegalArgumentException("pageSize must be 1..1000");
    }
    this.pageSize = pageSize;
  }

  /** True when the index reflects the EHR: built, and no failed rebuild or Consent read-back outstanding. */
  public boolean inSync() {
    return inSync;
  }

  /** The active patient-privacy Consents of {@code patient} ({@code Patient/<id>}), in no particular order. */
  List<CompiledConsent> activeFor(String patient) {
    return byPatient.getOrDefault(patient, List.of());
  }

  /** How many Consent ids the index knows (any status), and for how many patients it holds active ones. */
  public int size() {
    synchronized (lock) {
      return byId.size();
    }
  }

  public int patientCount() {
    return byPatient.size();
  }

  /** The version the index holds of Consent {@code id}, if any. */
  public Optional<ConsentVersion> versionOf(String id) {
    synchronized (lock) {
      CompiledConsent c = byId.get(id);
      return c == null ? Optional.empty() : Optional.of(c.version);
    }
  }

  /**
   * Replaces the whole index with {@code consents} (for example parsed from a bulk export) and marks it in sync.
   * Consents of other scopes are ignored.
   */
  public void load(Collection<Consent> consents) {
    List<CompiledConsent> compiled = compileAll(consents);
    synchronized (lock) {
      swap(compiled);
      outstanding.clear();
      loaded = true;
      rebuildFailed = false;
      updateInSync();
    }
  }

  /**
   * Rebuilds the index from the EHR: {@code GET Consent?scope=<consentscope>|patient-privacy&_count=<pageSize>},
   * following {@code next} links. Writes reported meanwhile are re-applied on top. On failure the index keeps its
   * previous contents but is not in sync until a rebuild succeeds.
   *
   * @throws ConsentIndexException if the EHR could not be read or answered something that is not a Bundle
   * @return what was read
   * @throws IllegalStateException if this index has no upstream
   */
  public RebuildReport rebuild() {
    if (upstream == null) {
      throw new IllegalStateException("this index has no EHR to rebuild from");
    }
    Set<String> outstandingAtStart;
    synchronized (lock) {
      duringRebuild = new ArrayList<>();
      outstandingAtStart = Set.copyOf(outstanding);
    }
    long t0 = System.nanoTime();
    List<Consent> fetched;
    int pages;
    try {
      List<Consent> all = new ArrayList<>();
      pages = fetchAll(all);
      fetched = all;
    } catch (RuntimeException e) {
      synchronized (lock) {
        duringRebuild = null;
        rebuildFailed = true;
        updateInSync();
      }
      log.warn("Consent index rebuild failed; consent decisions deny until it succeeds: {}", e.getMessage());
      throw e instanceof ConsentIndexException c ? c : new ConsentIndexException("Consent index rebuild failed", e);
    }
    List<CompiledConsent> compiled = compileAll(fetched);
    synchronized (lock) {
      List<Write> replay = duringRebuild;
      duringRebuild = null;
      swap(compiled);
      for (Write w : replay) {
        applyLocked(w);
      }
      outstanding.removeAll(outstandingAtStart);
      loaded = true;
      rebuildFailed = false;
      updateInSync();
    }
    long millis = (System.nanoTime() - t0) / 1_000_000;
    log.info("Consent index rebuilt from the EHR: {} Consents, {} patients with active ones, {} pages, {} ms",
        compiled.size(), byPatient.size(), pages, millis);
    return new RebuildReport(compiled.size(), pages, millis);
  }

  /**
   * Records a successful write of {@code consent} as the EHR stored it (with its id and version), or its deletion.
   * Call after the EHR confirmed the write.
   */
  public void onConsentWritten(Consent consent, boolean deleted) {
    Objects.requireNonNull(consent, "consent");
    if (deleted) {
      IIdType id = consent.getIdElement();
      write(new Write(id.getIdPart(), null, id.hasVersionIdPart() ? id.getVersionIdPart() : null));
      return;
    }
    CompiledConsent c = CompiledConsent.compile(consent);
    write(new Write(c.version.id(), c, null));
  }

  /**
   * Records a successful write of the Consent {@code id} when the write path has no body (for example
   * {@code Prefer: return=minimal}): a deletion is applied directly, anything else is read back from the EHR. If
   * the read-back fails, the index is out of sync (decisions deny) until {@link #retryOutstanding} succeeds.
   */
  public void onConsentWritten(IIdType id, boolean deleted) {
    Objects.requireNonNull(id, "id");
    String idPart = id.getIdPart();
    if (deleted) {
      write(new Write(idPart, null, id.hasVersionIdPart() ? id.getVersionIdPart() : null));
      return;
    }
    synchronized (lock) {
      outstanding.add(idPart);
      updateInSync();
    }
    readBack(idPart);
  }

  /**
   * Repairs a failed rebuild or read-back: rebuilds if the last rebuild failed (or none ran), else reads the
   * outstanding Consents again.
   *
   * @return whether the index is now in sync
   */
  public boolean retryOutstanding() {
    boolean needRebuild;
    Set<String> ids;
    synchronized (lock) {
      needRebuild = !loaded || rebuildFailed;
      ids = Set.copyOf(outstanding);
    }
    if (needRebuild) {
      try {
        rebuild();
      } catch (ConsentIndexException e) {
        return false;
      }
      return inSync();
    }
    for (String id : ids) {
      readBack(id);
    }
    return inSync();
  }

  private void readBack(String id) {
    if (upstream == null) {
      throw new IllegalStateException("this index has no EHR to read Consent/" + id + " from");
    }
    UpstreamResponse r;
    try {
      r = upstream.exchange(new UpstreamRequest("GET", "/Consent/" + URLEncoder.encode(id, StandardCharsets.UTF_8),
          ACCEPT_JSON, new byte[0]));
    } catch (RuntimeException e) {
      log.warn("Consent/{} could not be read back from the EHR ({}); consent decisions deny until it is", id,
          e.getClass().getSimpleName());
      return;
    }
    if (r.status() == 404 || r.status() == 410) {
      write(new Write(id, null, null), true);
    } else if (r.status() == 200) {
      CompiledConsent c;
      try {
        c = CompiledConsent.compile(
            parser().parseResource(Consent.class, new String(r.body(), StandardCharsets.UTF_8)));
      } catch (RuntimeException e) {
        log.warn("Consent/{} read-back: the EHR's answer is not a usable Consent; consent decisions deny", id);
        return;
      }
      write(new Write(id, c, null), true);
    } else {
      log.warn("Consent/{} read-back: the EHR answered {}; consent decisions deny until it is read", id, r.status());
    }
  }

  private void write(Write w) {
    write(w, false);
  }

  private void write(Write w, boolean resolvesOutstanding) {
    synchronized (lock) {
      applyLocked(w);
      if (duringRebuild != null) {
        duringRebuild.add(w);
      }
      if (resolvesOutstanding) {
        outstanding.remove(w.id());
      }
      updateInSync();
    }
  }

  private void applyLocked(Write w) {
    CompiledConsent existing = byId.get(w.id());
    if (w.consent() == null) {
      if (existing != null && w.deletedVersion() != null && newer(existing.version.version(), w.deletedVersion())) {
        return; // a deletion older than what we hold
      }
      if (existing != null) {
        byId.remove(w.id());
        removeFromPatient(existing);
      }
      if (w.deletedVersion() != null) {
        deletedVersions.put(w.id(), w.deletedVersion());
      }
      return;
    }
    String newVersion = w.consent().version.version();
    if (existing != null && newer(existing.version.version(), newVersion)) {
      return;
    }
    String deleted = deletedVersions.get(w.id());
    if (deleted != null && !newer(newVersion, deleted)) {
      return; // a version the EHR has since deleted
    }
    if (existing != null) {
      removeFromPatient(existing);
    }
    byId.put(w.id(), w.consent());
    addToPatient(w.consent());
  }

  /** True if version {@code a} is known to be newer than {@code b}. Non-numeric or missing versions never are. */
  private static boolean newer(String a, String b) {
    if (a == null || b == null) {
      return false;
    }
    try {
      return Long.parseLong(a) > Long.parseLong(b);
    } catch (NumberFormatException e) {
      return false;
    }
  }

  private void removeFromPatient(CompiledConsent c) {
    if (c.patient == null) {
      return;
    }
    byPatient.computeIfPresent(c.patient, (p, list) -> {
      List<CompiledConsent> copy = new ArrayList<>(list);
      copy.removeIf(x -> x.version.id().equals(c.version.id()));
      return copy.isEmpty() ? null : List.copyOf(copy);
    });
  }

  private void addToPatient(CompiledConsent c) {
    if (!c.applies()) {
      return;
    }
    byPatient.compute(c.patient, (p, list) -> {
      List<CompiledConsent> copy = list == null ? new ArrayList<>(1) : new ArrayList<>(list);
      copy.add(c);
      return List.copyOf(copy);
    });
  }

  private void swap(List<CompiledConsent> compiled) {
    Map<String, CompiledConsent> ids = new HashMap<>(compiled.size() * 2);
    for (CompiledConsent c : compiled) {
      CompiledConsent prior = ids.get(c.version.id());
      if (prior == null || !newer(prior.version.version(), c.version.version())) {
        ids.put(c.version.id(), c);
      }
    }
    Map<String, List<CompiledConsent>> grouped = new HashMap<>();
    for (CompiledConsent c : ids.values()) {
      if (c.applies()) {
        grouped.computeIfAbsent(c.patient, p -> new ArrayList<>(2)).add(c);
      }
    }
    ConcurrentHashMap<String, List<CompiledConsent>> patients = new ConcurrentHashMap<>(grouped.size() * 2);
    grouped.forEach((p, list) -> patients.put(p, List.copyOf(list)));
    byId = ids;
    deletedVersions = new HashMap<>();
    byPatient = patients;
  }

  private List<CompiledConsent> compileAll(Collection<Consent> consents) {
    List<CompiledConsent> compiled = new ArrayList<>(consents.size());
    int skipped = 0;
    for (Consent consent : consents) {
      try {
        CompiledConsent c = CompiledConsent.compile(consent);
        if (c.privacyScope) {
          compiled.add(c);
        }
      } catch (IllegalArgumentException e) {
        skipped++;
      }
    }
    if (skipped > 0) {
      log.warn("{} Consents without an id were not indexed", skipped);
    }
    return compiled;
  }

  private int fetchAll(List<Consent> into) {
    String base = upstream.baseUrl().toString();
    String path = "/Consent?scope="
        + URLEncoder.encode(CompiledConsent.SCOPE_SYSTEM + "|" + CompiledConsent.PRIVACY, StandardCharsets.UTF_8)
        + "&_count=" + pageSize;
    int pages = 0;
    Set<String> seenLinks = new HashSet<>();
    while (path != null) {
      UpstreamResponse r = upstream.exchange(new UpstreamRequest("GET", path, ACCEPT_JSON, new byte[0]));
      if (r.status() != 200) {
        throw new ConsentIndexException("the EHR answered " + r.status() + " to the Consent search", null);
      }
      Bundle page;
      try {
        page = parser().parseResource(Bundle.class, new String(r.body(), StandardCharsets.UTF_8));
      } catch (RuntimeException e) {
        throw new ConsentIndexException("the EHR's answer to the Consent search is not a FHIR Bundle", e);
      }
      pages++;
      for (Bundle.BundleEntryComponent e : page.getEntry()) {
        if (e.getResource() instanceof Consent c
            && (!e.hasSearch() || e.getSearch().getMode() != Bundle.SearchEntryMode.INCLUDE)) {
          into.add(c);
        }
      }
      Bundle.BundleLinkComponent next = page.getLink(Bundle.LINK_NEXT);
      path = null;
      if (next != null && next.getUrl() != null) {
        String url = next.getUrl();
        if (!url.startsWith(base) || !seenLinks.add(url)) {
          throw new ConsentIndexException("the EHR's next link is not under its base URL or repeats", null);
        }
        String rest = url.substring(base.length());
        path = rest.startsWith("/") ? rest : "/" + rest;
      }
    }
    return pages;
  }

  private IParser parser() {
    return fhir.newJsonParser();
  }

  private void updateInSync() {
    inSync = loaded && !rebuildFailed && outstanding.isEmpty();
  }
}
