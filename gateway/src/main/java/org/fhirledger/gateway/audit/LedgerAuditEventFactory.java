package org.fhirledger.gateway.audit;

import java.util.Date;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.AuditEvent;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventOutcome;
import org.hl7.fhir.r4.model.Base64BinaryType;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Coding;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Identifier;
import org.hl7.fhir.r4.model.InstantType;
import org.hl7.fhir.r4.model.Reference;
import org.hl7.fhir.r4.model.StringType;

/**
 * Builds the AuditEvent of one ledger entry, conforming to the gateway's
 * {@value GatewayProfiles#LEDGER_AUDIT_EVENT} profile (IHE BALP's RESTful-activity shape). Pure:
 * everything comes from the entry, nothing is looked up. Stateless and thread-safe.
 *
 * <p>The AuditEvent's id is the entry's ledger index, so {@code AuditEvent/<index>} names one
 * entry of one log; the {@value GatewayProfiles#LEDGER_ENTRY} extension says which log.
 */
final class LedgerAuditEventFactory {

  static final String DCM = "http://dicom.nema.org/resources/ontology/DCM";
  static final String EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type";
  static final String RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction";
  static final String ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
  static final String OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role";
  static final String SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type";
  static final String ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
  static final String SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";

  /**
   * The AuditEvent of entry {@code index}.
   *
   * @param knownPatients references of patients the reader named, by pseudonym: those patient
   *     entities carry the reference as well as the pseudonym; all others carry only the pseudonym
   * @throws IllegalArgumentException if {@code record} is an intent (not yet an event)
   */
  AuditEvent build(long index, EntryRecord record, Map<Pseudonym, String> knownPatients) {
    Objects.requireNonNull(record, "record");
    if (record.outcome() == null) {
      throw new IllegalArgumentException("entry " + index + " is an intent without an outcome");
    }
    AuditEvent event = new AuditEvent();
    event.setId(Long.toString(index));
    event.getMeta().addProfile(GatewayProfiles.LEDGER_AUDIT_EVENT);
    Extension ledger = event.addExtension().setUrl(GatewayProfiles.LEDGER_ENTRY);
    ledger.addExtension("origin", new StringType(record.origin()));
    ledger.addExtension("index", new StringType(Long.toString(index)));

    event.setType(new Coding(EVENT_TYPE, "rest", "Restful Operation"));
    String interaction = restfulInteraction(record);
    event.addSubtype(new Coding(RESTFUL_INTERACTION, interaction, interaction));
    event.setAction(actionOf(record.interaction()));
    event.setRecordedElement(new InstantType(Date.from(record.time())));
    event.setOutcome(outcomeOf(record));
    if (record.httpStatus() != null) {
      event.setOutcomeDesc("HTTP " + record.httpStatus() + " (" + record.outcome().name().toLowerCase() + ")");
    }
    if (record.purposeOfUse() != null) {
      event.addPurposeOfEvent(new CodeableConcept(new Coding(ACT_REASON, record.purposeOfUse(), null)));
    }
    addAgents(event, record.actor(), record.origin());
    event.getSource().setSite(record.origin())
        .setObserver(gateway(record.origin()))
        .addType(new Coding(SOURCE_TYPE, "4", "Application Server"));
    addDataEntity(event, record, knownPatients);
    for (Pseudonym p : record.patients()) {
      Reference what = new Reference().setIdentifier(
          new Identifier().setSystem(GatewayProfiles.PSEUDONYM_SYSTEM).setValue(p.toString()));
      String known = knownPatients.get(p);
      if (known != null) {
        what.setReference(known);
      }
      event.addEntity().setType(new Coding(ENTITY_TYPE, "1", "Person"))
          .setRole(new Coding(OBJECT_ROLE, "1", "Patient")).setWhat(what);
    }
    return event;
  }

  /** BALP's action for an interaction: create C, read R, update U, delete D, search and the rest E. */
  static AuditEventAction actionOf(Interaction interaction) {
    return switch (interaction) {
      case CREATE -> AuditEventAction.C;
      case READ, VREAD, HISTORY, CAPABILITIES -> AuditEventAction.R;
      case UPDATE, PATCH, CONSENT_CHANGE -> AuditEventAction.U;
      case DELETE, ERASURE -> AuditEventAction.D;
      case SEARCH, OPERATION, BATCH, TRANSACTION, BREAK_GLASS, RECONCILE -> AuditEventAction.E;
    };
  }

  /** The code from {@code http://hl7.org/fhir/restful-interaction} for the entry's interaction. */
  static String restfulInteraction(EntryRecord record) {
    boolean typed = record.resourceType() != null;
    boolean instance = typed && record.resourceId() != null;
    return switch (record.interaction()) {
      case READ -> "read";
      case VREAD -> "vread";
      case SEARCH -> typed ? "search-type" : "search-system";
      case HISTORY -> instance ? "history-instance" : typed ? "history-type" : "history-system";
      case CREATE -> "create";
      case UPDATE, CONSENT_CHANGE -> "update";
      case PATCH -> "patch";
      case DELETE -> "delete";
      case CAPABILITIES -> "capabilities";
      case BATCH -> "batch";
      case TRANSACTION -> "transaction";
      case OPERATION, BREAK_GLASS, RECONCILE, ERASURE -> "operation";
    };
  }

  private static AuditEventOutcome outcomeOf(EntryRecord record) {
    if (record.outcome() == Outcome.SUCCESS) {
      return AuditEventOutcome._0;
    }
    Integer status = record.httpStatus();
    return status != null && status >= 500 ? AuditEventOutcome._8 : AuditEventOutcome._4;
  }

  private static void addAgents(AuditEvent event, Actor actor, String origin) {
    event.addAgent()
        .setType(new CodeableConcept(new Coding(DCM, "110153", "Source Role ID")))
        .setWho(new Reference().setIdentifier(
            new Identifier().setSystem(GatewayProfiles.CLIENT_ID_SYSTEM).setValue(actor.clientId())))
        .setRequestor(true);
    if (actor.user() != null) {
      event.addAgent()
          .setType(new CodeableConcept(new Coding(SECURITY_ROLE, "humanuser", "human user")))
          .setWho(new Reference(actor.user()))
          .setRequestor(true);
    }
    if (actor.organization() != null) {
      event.addAgent()
          .setType(new CodeableConcept().setText("organization"))
          .setWho(new Reference(actor.organization()))
          .setRequestor(false);
    }
    event.addAgent()
        .setType(new CodeableConcept(new Coding(DCM, "110152", "Destination Role ID")))
        .setWho(gateway(origin))
        .setRequestor(false);
  }

  private static Reference gateway(String origin) {
    return new Reference().setDisplay("FHIR ledger gateway")
        .setIdentifier(new Identifier().setSystem(GatewayProfiles.LOG_ORIGIN_SYSTEM).setValue(origin));
  }

  private static void addDataEntity(AuditEvent event, EntryRecord record, Map<Pseudonym, String> knownPatients) {
    if (record.resourceType() == null) {
      return;
    }
    Reference what = new Reference();
    if ("Patient".equals(record.resourceType()) && record.resourceId() == null && record.patients().size() == 1) {
      // A Patient resource is on the ledger only as its patient's pseudonym.
      Pseudonym p = record.patients().get(0);
      what.setType("Patient").setIdentifier(
          new Identifier().setSystem(GatewayProfiles.PSEUDONYM_SYSTEM).setValue(p.toString()));
      if (knownPatients.containsKey(p)) {
        what.setReference(knownPatients.get(p));
      }
    } else if (record.resourceId() != null) {
      what.setReference(record.resourceType() + "/" + record.resourceId()
          + (record.resourceVersion() != null ? "/_history/" + record.resourceVersion() : ""));
    } else {
      what.setType(record.resourceType()).setDisplay("all " + record.resourceType() + " resources");
    }
    boolean query = record.interaction() == Interaction.SEARCH;
    AuditEvent.AuditEventEntityComponent entity = event.addEntity()
        .setType(new Coding(ENTITY_TYPE, "2", "System Object"))
        .setRole(query ? new Coding(OBJECT_ROLE, "24", "Query") : new Coding(OBJECT_ROLE, "4", "Domain Resource"))
        .setWhat(what);
    byte[] digest = record.contentSha256();
    if (digest != null) {
      entity.addDetail().setType("sha256").setValue(new Base64BinaryType(digest));
    }
    if (record.consentReference() != null) {
      entity.addDetail().setType("consent")
          .setValue(new StringType(record.consentReference()
              + (record.consentDecision() != null ? " " + record.consentDecision().name().toLowerCase() : "")));
    }
  }

  static String hex(byte[] bytes) {
    return HexFormat.of().formatHex(bytes);
  }
}
