package org.fhirledger.ledger;

import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Tuning of the group commit.
 *
 * @param maxBatchSize most entries per batch (one transaction, one checkpoint), 1..65536
 * @param maxBatchDelay how long the sequencer waits for more appends after the first one of a batch; zero (the
 *     default) commits as soon as the previous batch is done, which batches naturally under load
 * @param clock the clock for stored timestamps, non-null
 * @param writerName how this writer describes itself in {@code ledger_state}, non-null
 */
public record LedgerOptions(int maxBatchSize, Duration maxBatchDelay, Clock clock, String writerName) {
  public LedgerOptions {
    Objects.requireNonNull(maxBatchDelay, "maxBatchDelay");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(writerName, "writerName");
    if (maxBatchSize < 1 || maxBatchSize > 65536) {
      throw new IllegalArgumentException("maxBatchSize must be 1..65536, was " + maxBatchSize);
    }
    if (maxBatchDelay.isNegative() || maxBatchDelay.compareTo(Duration.ofSeconds(10)) > 0) {
      throw new IllegalArgumentException("maxBatchDelay must be 0..10s, was " + maxBatchDelay);
    }
  }

  /** 1024 entries, no added delay, the system clock, writer named after this process. */
  public static LedgerOptions defaults() {
    return new LedgerOptions(1024, Duration.ZERO, Clock.systemUTC(), "pid " + ProcessHandle.current().pid());
  }

  public LedgerOptions withMaxBatchSize(int size) {
    return new LedgerOptions(size, maxBatchDelay, clock, writerName);
  }

  public LedgerOptions withMaxBatchDelay(Duration delay) {
    return new LedgerOptions(maxBatchSize, delay, clock, writerName);
  }

  public LedgerOptions withClock(Clock c) {
    return new LedgerOptions(maxBatchSize, maxBatchDelay, c, writerName);
  }

  public LedgerOptions withWriterName(String name) {
    return new LedgerOptions(maxBatchSize, maxBatchDelay, clock, name);
  }
}
