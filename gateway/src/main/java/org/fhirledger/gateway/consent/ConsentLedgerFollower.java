package org.fhirledger.gateway.consent;

import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.hl7.fhir.r4.model.IdType;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps this instance's Consent index in step with Consent writes made through the <i>other</i> instances of a shared
 * PostgreSQL ledger: every {@code interval} it reads the entries appended since the last look, and for each
 * successful create, update, patch, delete or reconciliation of a {@code Consent} by another instance (another
 * entry origin) tells the index, which reads that Consent back from the EHR (a delete is applied directly). Until
 * the read-back succeeds the index is out of sync and decisions deny (fail closed). So another instance's Consent
 * change takes effect here within about one interval. A Consent written inside a transaction or batch through
 * another instance is not named on the ledger; this instance sees it at its next index rebuild (its next start).
 *
 * <p>Runs on one daemon thread; {@link #close} is idempotent.
 */
final class ConsentLedgerFollower implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ConsentLedgerFollower.class);
  private static final int READ_BATCH = 4096;

  private final Ledger ledger;
  private final ConsentIndex index;
  private final String ownOrigin;
  private final ScheduledExecutorService timer;
  private long followed;

  private ConsentLedgerFollower(Ledger ledger, ConsentIndex index, String ownOrigin) {
    this.ledger = ledger;
    this.index = index;
    this.ownOrigin = ownOrigin;
    this.followed = ledger.latestCheckpoint().size(); // the index's rebuild from the EHR covers what came before
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "consent-ledger-follower");
      t.setDaemon(true);
      return t;
    });
  }

  static ConsentLedgerFollower start(Ledger ledger, ConsentIndex index, String ownOrigin, Duration interval) {
    ConsentLedgerFollower f = new ConsentLedgerFollower(Objects.requireNonNull(ledger, "ledger"),
        Objects.requireNonNull(index, "index"), Objects.requireNonNull(ownOrigin, "ownOrigin"));
    long millis = interval.toMillis();
    f.timer.scheduleWithFixedDelay(f::followQuietly, millis, millis, TimeUnit.MILLISECONDS);
    return f;
  }

  /** Applies the Consent writes of other instances appended since the last call. Called on the timer thread. */
  synchronized void follow() throws LedgerUnavailableException {
    long size = ledger.latestCheckpoint().size();
    while (followed < size) {
      long to = Math.min(size, followed + READ_BATCH);
      for (LedgerEntry entry : ledger.entries(followed, to)) {
        apply(entry);
      }
      followed = to;
    }
  }

  private void apply(LedgerEntry entry) {
    EntryRecord r;
    try {
      r = EntryCodec.decode(entry.data());
    } catch (IllegalArgumentException e) {
      return;
    }
    if (r.type() == EntryType.INTENT || ownOrigin.equals(r.origin()) || !"Consent".equals(r.resourceType())
        || r.resourceId() == null) {
      return;
    }
    Interaction i = r.interaction();
    boolean write = i == Interaction.CREATE || i == Interaction.UPDATE || i == Interaction.PATCH
        || i == Interaction.DELETE;
    if (write && r.outcome() == Outcome.SUCCESS || i == Interaction.RECONCILE) {
      index.onConsentWritten(new IdType("Consent", r.resourceId()),
          i == Interaction.DELETE && r.outcome() == Outcome.SUCCESS);
    }
  }

  private void followQuietly() {
    try {
      follow();
    } catch (LedgerUnavailableException | RuntimeException e) {
      log.warn("Could not read other instances' Consent changes from the ledger; retrying: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }
}
