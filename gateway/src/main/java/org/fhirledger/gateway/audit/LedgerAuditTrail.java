package org.fhirledger.gateway.audit;

import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.hl7.fhir.r4.model.AuditEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's audit trail, read from its ledger: finds entries through the {@link AuditIndex},
 * reads them back from the ledger and has the {@link LedgerAuditEventFactory} render them. Never
 * stores anything. Thread-safe.
 *
 * <p>When the ledger cannot be read, methods throw a 503 HAPI exception (an OperationOutcome for
 * the client), never a partial answer.
 */
final class LedgerAuditTrail {

  private static final Logger log = LoggerFactory.getLogger(LedgerAuditTrail.class);

  private final Ledger ledger;
  private final AuditIndex index;
  private final Pseudonymizer pseudonymizer;
  private final LedgerAuditEventFactory factory;

  LedgerAuditTrail(Ledger ledger, AuditIndex index, Pseudonymizer pseudonymizer, LedgerAuditEventFactory factory) {
    this.ledger = Objects.requireNonNull(ledger, "ledger");
    this.index = Objects.requireNonNull(index, "index");
    this.pseudonymizer = Objects.requireNonNull(pseudonymizer, "pseudonymizer");
    this.factory = Objects.requireNonNull(factory, "factory");
  }

  /** The patient's pseudonym, empty if the patient never had one or was erased (then nothing is found). */
  Optional<Pseudonym> pseudonym(String patientReference) {
    try {
      return pseudonymizer.existingPseudonym(patientReference);
    } catch (LedgerUnavailableException e) {
      throw unreadable(e);
    }
  }

  /** Ledger indices of the matching entries, ascending. */
  long[] find(AuditQuery query) {
    try {
      return index.find(query);
    } catch (LedgerUnavailableException e) {
      throw unreadable(e);
    }
  }

  /** The entry at {@code ledgerIndex}, which must be below the latest checkpoint's size. */
  byte[] entry(long ledgerIndex) {
    try {
      return ledger.entries(ledgerIndex, ledgerIndex + 1).get(0).data();
    } catch (LedgerUnavailableException e) {
      throw unreadable(e);
    }
  }

  /** The AuditEvents of {@code indices[from, to)}, in that order. */
  List<AuditEvent> events(long[] indices, int from, int to, Map<Pseudonym, String> knownPatients) {
    List<AuditEvent> out = new ArrayList<>(Math.max(0, to - from));
    for (int i = from; i < to; i++) {
      out.add(factory.build(indices[i], EntryCodec.decode(entry(indices[i])), knownPatients));
    }
    return out;
  }

  /** The AuditEvent of one entry; empty if there is no such entry or it is an intent without outcome. */
  Optional<AuditEvent> event(long ledgerIndex) {
    if (ledgerIndex < 0 || ledgerIndex >= ledger.latestCheckpoint().size()) {
      return Optional.empty();
    }
    EntryRecord record;
    try {
      record = EntryCodec.decode(entry(ledgerIndex));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    return record.outcome() == null ? Optional.empty() : Optional.of(factory.build(ledgerIndex, record, Map.of()));
  }

  Checkpoint latestCheckpoint() {
    return ledger.latestCheckpoint();
  }

  InclusionProof inclusionProof(long ledgerIndex, long treeSize) {
    try {
      return ledger.inclusionProof(ledgerIndex, treeSize);
    } catch (LedgerUnavailableException e) {
      throw unreadable(e);
    }
  }

  private static UnclassifiedServerFailureException unreadable(Exception cause) {
    log.error("The ledger could not be read for the audit trail: {}", cause.getClass().getSimpleName());
    return new UnclassifiedServerFailureException(503,
        "The gateway's ledger cannot be read right now, so its audit trail is unavailable. Try again later.");
  }
}
