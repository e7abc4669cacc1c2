package org.fhirledger.gateway.audit;

import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Read;
import ca.uhn.fhir.rest.annotation.Search;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.IBundleProvider;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.SimpleBundleProvider;
import ca.uhn.fhir.rest.server.exceptions.ResourceNotFoundException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.fhirledger.ledger.entry.Pseudonym;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;

/**
 * Serves {@code AuditEvent} search and read from the gateway's ledger; AuditEvents are rendered on
 * the fly and never stored in the EHR. Results are in ledger order (oldest first) and limited to
 * the log as it was when the first page was asked for (parameter {@code ledger-size}, added to the
 * links when absent), so offset paging ({@code _offset}, {@code _count}, links built by HAPI at the
 * gateway's base) returns every match exactly once while the log grows. Each search and read is itself an access and is recorded on the ledger
 * before the answer leaves; its index is in {@code X-Ledger-Index}.
 *
 * <p>Public only because HAPI invokes it reflectively. Thread-safe.
 */
public final class AuditEventProvider {

  private static final Pattern INDEX = Pattern.compile("[0-9]{1,18}");

  private final LedgerAuditTrail trail;
  private final InteractionRecorder recorder;

  AuditEventProvider(LedgerAuditTrail trail, InteractionRecorder recorder) {
    this.trail = Objects.requireNonNull(trail, "trail");
    this.recorder = Objects.requireNonNull(recorder, "recorder");
  }

  /** {@code GET /AuditEvent?patient=&agent=&entity=&date=&action=&_count=&_offset=}. */
  @Search(type = AuditEvent.class, allowUnknownParams = true)
  public IBundleProvider search(RequestDetails request) {
    Map<String, String[]> p = request.getParameters();
    AuditParameters.requireKnown(p);
    String patientParam = AuditParameters.single(p, "patient");
    String patient = patientParam == null ? null : AuditParameters.patientReference(patientParam, "patient");
    String agent = AuditParameters.single(p, "agent");
    String entityParam = AuditParameters.single(p, "entity");
    String entity = entityParam == null ? null : AuditParameters.entityReference(entityParam);
    AuditEventAction action = AuditParameters.action(AuditParameters.single(p, "action"));
    Instant[] range = AuditParameters.dateRange(p.get("date"));
    int count = AuditParameters.integer(p, "_count", AuditParameters.DEFAULT_COUNT, AuditParameters.MAX_COUNT);
    int offset = AuditParameters.integer(p, "_offset", 0, Integer.MAX_VALUE);
    Long ledgerSizeParam = AuditParameters.longValue(p, AuditParameters.LEDGER_SIZE);
    long ledgerSize = ledgerSizeParam != null ? ledgerSizeParam : trail.latestCheckpoint().size();

    Optional<Pseudonym> pseudonym = patient == null ? Optional.empty() : trail.pseudonym(patient);
    boolean unknownEntityPatient = false;
    if (entity != null && entity.startsWith("Patient/")) {
      // Entries name a Patient resource by the patient's pseudonym, never by its id.
      Optional<Pseudonym> entityPatient = trail.pseudonym(entity);
      unknownEntityPatient = entityPatient.isEmpty();
      entity = entityPatient.map(AuditIndex::patientEntityKey).orElse(entity);
    }
    boolean nothingCanMatch = patient != null && pseudonym.isEmpty() || unknownEntityPatient
        || range[0] != null && range[1] != null && range[0].isAfter(range[1]);
    long[] matches = nothingCanMatch ? new long[0]
        : trail.find(new AuditQuery(pseudonym.orElse(null), agent, entity, action, range[0], range[1]));
    matches = below(matches, ledgerSize);
    if (ledgerSizeParam == null) {
      request.addParameter(AuditParameters.LEDGER_SIZE, new String[] {Long.toString(ledgerSize)});
    }

    int from = Math.min(offset, matches.length);
    int to = Math.min(matches.length, from + count);
    Map<Pseudonym, String> known = new java.util.HashMap<>();
    pseudonym.ifPresent(ps -> known.put(ps, patient));
    if (entityParam != null && entityParam.startsWith("Patient/")) {
      trail.pseudonym(AuditParameters.entityReference(entityParam)).ifPresent(ps -> known.put(ps, AuditParameters.entityReference(entityParam)));
    }
    List<AuditEvent> page = trail.events(matches, from, to, known);

    record(request, RestOperationTypeEnum.SEARCH_TYPE, searchset(page), pseudonym.isPresent() ? Set.of(patient) : Set.of());
    SimpleBundleProvider result = new SimpleBundleProvider(List.<IBaseResource>copyOf(page));
    result.setSize(matches.length);
    result.setCurrentPageOffset(offset);
    result.setCurrentPageSize(count);
    return result;
  }

  /** {@code GET /AuditEvent/<ledger index>}: the AuditEvent of one entry. */
  @Read(type = AuditEvent.class)
  public AuditEvent read(@IdParam IdType id, RequestDetails request) {
    String idPart = id.getIdPart();
    Optional<AuditEvent> event = idPart != null && INDEX.matcher(idPart).matches()
        ? trail.event(Long.parseLong(idPart)) : Optional.empty();
    if (event.isEmpty()) {
      throw new ResourceNotFoundException("No AuditEvent with this id: AuditEvent ids are the ledger indices of "
          + "completed interactions");
    }
    record(request, RestOperationTypeEnum.READ, event.get(), Set.of());
    return event.get();
  }

  private void record(RequestDetails request, RestOperationTypeEnum operation, IBaseResource returned,
      Set<String> patients) {
    long index = recorder.recordServed(request, operation, returned, patients);
    request.getResponse().addHeader(InteractionRecorder.HEADER, Long.toString(index));
  }

  private static long[] below(long[] ascending, long size) {
    int cut = java.util.Arrays.binarySearch(ascending, size);
    int end = cut >= 0 ? cut : -cut - 1;
    return end == ascending.length ? ascending : java.util.Arrays.copyOf(ascending, end);
  }

  private static Bundle searchset(List<AuditEvent> page) {
    Bundle bundle = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    page.forEach(e -> bundle.addEntry().setResource(e));
    return bundle;
  }
}
