package org.fhirledger.gateway.audit;

import ca.uhn.fhir.rest.annotation.IdParam;
import ca.uhn.fhir.rest.annotation.Operation;
import ca.uhn.fhir.rest.annotation.OperationParam;
import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.time.Instant;
import java.util.Date;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import org.fhirledger.gateway.ledger.InteractionRecorder;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.CodeType;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.IdType;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.IntegerType;
import org.hl7.fhir.r4.model.Parameters;
import org.hl7.fhir.r4.model.Parameters.ParametersParameterComponent;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;
import org.hl7.fhir.r4.model.Type;

/**
 * {@code GET /Patient/<id>/$access-report?start=&end=}: who accessed the patient's data, when, for
 * what purpose, with what outcome, each access provable. The answer is a {@code Parameters}:
 * {@code patient}, {@code origin}, {@code treeSize} and {@code checkpoint} (the signed C2SP
 * checkpoint note every proof is against), then one {@code access} per ledger entry naming the
 * patient's pseudonym, in log order, with parts {@code ledgerIndex}, {@code time},
 * {@code interaction}, {@code action}, {@code resource}, {@code outcome}, {@code httpStatus},
 * {@code client}, {@code user}, {@code organization}, {@code purposeOfUse}, {@code consent},
 * {@code entry} (the entry's bytes, base64) and {@code inclusionProof} ({@code treeSize} and the
 * audit path {@code hash}es, bottom to top, base64). Ledger indices and tree sizes are decimal
 * strings: a log may outgrow FHIR's 32-bit integer.
 *
 * <p>A patient without a pseudonym secret (never seen, or erased) has an empty report. The report
 * is itself an access to the patient's data and is recorded (header {@code X-Ledger-Index});
 * it covers the log up to the checkpoint it names, so its own entry comes after it.
 *
 * <p>Public only because HAPI invokes it reflectively. Thread-safe.
 */
public final class AccessReportProvider {

  /** The operation's name. */
  public static final String OPERATION = "$access-report";
  /** The most accesses one report lists; narrower start/end split a longer history. */
  static final int MAX_ACCESSES = 1000;

  private final LedgerAuditTrail trail;
  private final InteractionRecorder recorder;

  AccessReportProvider(LedgerAuditTrail trail, InteractionRecorder recorder) {
    this.trail = Objects.requireNonNull(trail, "trail");
    this.recorder = Objects.requireNonNull(recorder, "recorder");
  }

  @Operation(name = OPERATION, type = org.hl7.fhir.r4.model.Patient.class, idempotent = true)
  public Parameters accessReport(@IdParam IdType id,
      @OperationParam(name = "start", max = 1) StringType start,
      @OperationParam(name = "end", max = 1) StringType end,
      RequestDetails request) {
    String patient = AuditParameters.patientReference(id.getIdPart() == null ? "" : id.getIdPart(), "id");
    Instant from = AuditParameters.lowerBound(value(start), "start");
    Instant to = AuditParameters.upperBound(value(end), "end");
    if (from != null && to != null && from.isAfter(to)) {
      throw new InvalidRequestException("Parameter 'start' is after parameter 'end'");
    }
    Optional<Pseudonym> pseudonym = trail.pseudonym(patient);
    long[] matches = pseudonym.isEmpty() ? new long[0] : trail.find(AuditQuery.forPatient(pseudonym.get(), from, to));
    if (matches.length > MAX_ACCESSES) {
      throw new InvalidRequestException("More than " + MAX_ACCESSES + " accesses between 'start' and 'end': "
          + "narrow the period (parameters 'start' and 'end') and ask again");
    }
    Parameters report = report(patient, matches);
    long index = recorder.recordServed(request, RestOperationTypeEnum.EXTENDED_OPERATION_INSTANCE, report,
        pseudonym.isPresent() ? Set.of(patient) : Set.of());
    request.getResponse().addHeader(InteractionRecorder.HEADER, Long.toString(index));
    return report;
  }

  private Parameters report(String patient, long[] matches) {
    Checkpoint checkpoint = trail.latestCheckpoint();
    Parameters report = new Parameters();
    report.addParameter().setName("patient").setValue(new Reference(patient));
    report.addParameter().setName("origin").setValue(new StringType(checkpoint.origin()));
    report.addParameter().setName("treeSize").setValue(new StringType(Long.toString(checkpoint.size())));
    report.addParameter().setName("checkpoint").setValue(new StringType(checkpoint.signedNote()));
    for (long ledgerIndex : matches) {
      byte[] entry = trail.entry(ledgerIndex);
      EntryRecord record = EntryCodec.decode(entry);
      ParametersParameterComponent access = report.addParameter().setName("access");
      part(access, "ledgerIndex", new StringType(Long.toString(ledgerIndex)));
      part(access, "time", new InstantType(Date.from(record.time())));
      part(access, "interaction", new CodeType(LedgerAuditEventFactory.restfulInteraction(record)));
      part(access, "action", new CodeType(LedgerAuditEventFactory.actionOf(record.interaction()).toCode()));
      if (record.resourceType() != null) {
        part(access, "resource", record.resourceId() == null ? new StringType(record.resourceType())
            : new Reference(record.resourceType() + "/" + record.resourceId()));
      }
      part(access, "outcome", new CodeType(record.outcome().name().toLowerCase(java.util.Locale.ROOT)));
      if (record.httpStatus() != null) {
        part(access, "httpStatus", new IntegerType(record.httpStatus()));
      }
      Actor actor = record.actor();
      part(access, "client", new Identifier().setSystem(GatewayProfiles.CLIENT_ID_SYSTEM).setValue(actor.clientId()));
      if (actor.user() != null) {
        part(access, "user", new Reference(actor.user()));
      }
      if (actor.organization() != null) {
        part(access, "organization", new Reference(actor.organization()));
      }
      if (record.purposeOfUse() != null) {
        part(access, "purposeOfUse", new Coding(LedgerAuditEventFactory.ACT_REASON, record.purposeOfUse(), null));
      }
      if (record.consentDecision() != null) {
        part(access, "consentDecision", new CodeType(record.consentDecision().name().toLowerCase(java.util.Locale.ROOT)));
      }
      if (record.consentReference() != null) {
        // One part per Consent version the decision rested on (the ledger keeps them space separated).
        for (String consent : record.consentReference().split(" ")) {
          part(access, "consent", new Reference(consent));
        }
      }
      part(access, "entry", new Base64BinaryType(entry));
      InclusionProof proof = trail.inclusionProof(ledgerIndex, checkpoint.size());
      ParametersParameterComponent proofPart = access.addPart().setName("inclusionProof");
      part(proofPart, "treeSize", new StringType(Long.toString(proof.treeSize())));
      for (byte[] hash : proof.hashes()) {
        part(proofPart, "hash", new Base64BinaryType(hash));
      }
    }
    return report;
  }

  private static void part(ParametersParameterComponent parent, String name, Type value) {
    parent.addPart().setName(name).setValue(value);
  }

  private static String value(StringType s) {
    return s == null || s.isEmpty() ? null : s.getValue();
  }
}
