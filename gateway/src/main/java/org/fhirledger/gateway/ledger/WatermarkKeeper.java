package org.fhirledger.gateway.ledger;

import java.io.IOException;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Persists the reconciliation watermark of a running gateway: every {@code interval} when it moved, and once more on
 * clean shutdown, on one daemon thread, never on the request path. A crash loses at most one interval of progress,
 * which the next start pays for by scanning that much more of the log. Thread-safe; {@link #close} is idempotent.
 */
final class WatermarkKeeper implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(WatermarkKeeper.class);

  private final PendingIntents pending;
  private final WatermarkStore file;
  private final ScheduledExecutorService timer;
  private long written;

  private WatermarkKeeper(PendingIntents pending, WatermarkStore file, long written) {
    this.pending = pending;
    this.file = file;
    this.written = written;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "ledger-watermark");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * Starts persisting {@code pending}'s watermark to {@code file}.
   *
   * @param written the watermark the file holds now
   */
  static WatermarkKeeper start(PendingIntents pending, WatermarkStore file, long written, Duration interval) {
    Objects.requireNonNull(pending, "pending");
    Objects.requireNonNull(file, "file");
    if (interval.isNegative() || interval.isZero()) {
      throw new IllegalArgumentException("interval must be positive");
    }
    WatermarkKeeper keeper = new WatermarkKeeper(pending, file, written);
    long millis = interval.toMillis();
    keeper.timer.scheduleWithFixedDelay(keeper::persistQuietly, millis, millis, TimeUnit.MILLISECONDS);
    return keeper;
  }

  PendingIntents pending() {
    return pending;
  }

  /** Writes the current watermark if it moved since the last write. */
  synchronized void persist() throws IOException {
    long w = pending.watermark();
    if (w > written) {
      file.write(w);
      written = w;
    }
  }

  private void persistQuietly() {
    try {
      persist();
    } catch (IOException | RuntimeException e) {
      // Harmless for correctness (the stored watermark only gets staler); the next tick tries again.
      log.warn("Could not store the reconciliation watermark: {}", e.getClass().getSimpleName());
    }
  }

  /** Stops the timer and stores the watermark a last time. */
  @Override
  public void close() {
    timer.shutdownNow();
    persistQuietly();
  }
}
