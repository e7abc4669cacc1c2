package org.fhirledger.gateway.audit;

import java.time.Instant;
import org.fhirledger.ledger.entry.Pseudonym;
import org.hl7.fhir.r4.model.AuditEvent.AuditEventAction;

/**
 * What to find in the audit index; every non-null criterion must hold (AND). No PHI: a patient is
 * a pseudonym.
 *
 * @param patient entries that name this patient pseudonym, or null
 * @param agent entries whose client id, user reference or organization reference equals this, or null
 * @param entity entries about this resource ({@code Type/id}), or null
 * @param action entries whose BALP action is this, or null
 * @param from entries recorded at or after this instant, or null
 * @param to entries recorded at or before this instant, or null
 */
record AuditQuery(Pseudonym patient, String agent, String entity, AuditEventAction action, Instant from, Instant to) {

  AuditQuery {
    if (from != null && to != null && from.isAfter(to)) {
      throw new IllegalArgumentException("from must not be after to");
    }
    if (agent != null && agent.isEmpty() || entity != null && entity.isEmpty()) {
      throw new IllegalArgumentException("agent and entity must not be empty");
    }
  }

  static AuditQuery forPatient(Pseudonym patient, Instant from, Instant to) {
    return new AuditQuery(patient, null, null, null, from, to);
  }
}
