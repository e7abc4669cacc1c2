package org.fhirledger.gateway.consent;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the Consent index in the background from start and, while it is out of sync (a failed rebuild or
 * read-back), retries on a single daemon thread. The gateway does not wait for it: paging 50,000 Consents out of a
 * HAPI JPA EHR takes minutes, and until the index is in sync every decision denies (fail closed).
 */
final class ConsentIndexKeeper implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(ConsentIndexKeeper.class);

  private final ConsentIndex index;
  private final Duration retryInterval;
  private ScheduledExecutorService retries;

  ConsentIndexKeeper(ConsentIndex index, Duration retryInterval) {
    this.index = index;
    this.retryInterval = retryInterval;
  }

  void start() {
    retries = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "consent-index-retry");
      t.setDaemon(true);
      return t;
    });
    long ms = retryInterval.toMillis();
    retries.scheduleWithFixedDelay(this::retryIfNeeded, 0, ms, TimeUnit.MILLISECONDS);
  }

  private void retryIfNeeded() {
    try {
      if (!index.inSync() && !index.retryOutstanding()) {
        log.warn("The Consent index is not in sync; consent decisions deny; retrying in {}", retryInterval);
      }
    } catch (RuntimeException e) {
      log.warn("Consent index retry failed ({})", e.getClass().getSimpleName());
    }
  }

  @Override
  public void close() {
    if (retries != null) {
      retries.shutdownNow();
    }
  }
}
