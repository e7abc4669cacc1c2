package org.fhirledger.gateway.ledger;

import java.sql.SQLException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * On a shared PostgreSQL ledger, settles the intents of gateway instances that died: every {@code interval}, for
 * each other instance that ever ran on this ledger (a row of {@code ledger_reconcile_watermark}), it tries to claim
 * that instance ({@link PostgresInstanceLocks#claimIfDead}); only a dead instance can be claimed, so the in-flight
 * intents of a live one are never touched. A claimed instance's intents without outcomes, from its stored
 * watermark on, are reconciled exactly as that instance would on its restart ({@link IntentReconciler}, owner = the
 * dead instance, outcomes in this instance's name), and its watermark is moved to the end of the log; then the claim
 * is released. A dead instance that restarts waits for the claim, and then finds nothing left to settle.
 *
 * <p>Failures (EHR or ledger unavailable) are logged and retried at the next interval. Runs on one daemon thread;
 * {@link #close} is idempotent.
 */
final class OrphanIntentReconciler implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(OrphanIntentReconciler.class);

  private final DataSource dataSource;
  private final PostgresInstanceLocks locks;
  private final String origin;
  private final Function<String, IntentReconciler> reconcilerFor;
  private final Clock clock;
  private final ScheduledExecutorService timer;

  private OrphanIntentReconciler(DataSource dataSource, PostgresInstanceLocks locks, String origin,
      Function<String, IntentReconciler> reconcilerFor, Clock clock) {
    this.dataSource = dataSource;
    this.locks = locks;
    this.origin = origin;
    this.reconcilerFor = reconcilerFor;
    this.clock = clock;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "ledger-orphan-intents");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Starts checking every {@code interval}.
   *
   * @param reconcilerFor a reconciler of the given (dead) instance's intents
   */
  static OrphanIntentReconciler start(DataSource dataSource, PostgresInstanceLocks locks, String origin,
      Function<String, IntentReconciler> reconcilerFor, Clock clock, Duration interval) {
    OrphanIntentReconciler r = new OrphanIntentReconciler(Objects.requireNonNull(dataSource, "dataSource"),
        Objects.requireNonNull(locks, "locks"), Objects.requireNonNull(origin, "origin"),
        Objects.requireNonNull(reconcilerFor, "reconcilerFor"), Objects.requireNonNull(clock, "clock"));
    long millis = interval.toMillis();
    r.timer.scheduleWithFixedDelay(r::checkQuietly, millis, millis, TimeUnit.MILLISECONDS);
    return r;
  }

  /**
   * Settles the intents of every instance found dead now.
   *
   * @return how many dead (or stopped) instances were checked and settled
   */
  int check() throws SQLException {
    if (!locks.held()) {
      log.error("This instance lost its instance lock on the shared ledger (database connection lost); another "
          + "instance may reconcile its in-flight writes");
    }
    int settled = 0;
    List<String> others = JdbcWatermarkStore.origins(dataSource);
    for (String other : others) {
      if (other.equals(origin)) {
        continue;
      }
      Optional<PostgresInstanceLocks.Claim> claim = locks.claimIfDead(other);
      if (claim.isEmpty()) {
        continue;
      }
      try (PostgresInstanceLocks.Claim held = claim.get()) {
        // The reconciler logs every intent it settles; a stopped instance with nothing left costs one short scan.
        reconcilerFor.apply(other).reconcile(new JdbcWatermarkStore(dataSource, other, clock));
        settled++;
      }
    }
    return settled;
  }

  private void checkQuietly() {
    try {
      check();
    } catch (SQLException | RuntimeException e) {
      log.warn("Could not settle the writes of stopped instances; retrying: {}", e.getMessage());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
