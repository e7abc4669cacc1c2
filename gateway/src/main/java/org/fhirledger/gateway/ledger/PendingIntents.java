package org.fhirledger.gateway.ledger;

import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.LongSupplier;

/**
 * The writes of this run whose INTENT is (or may be) on the ledger but whose OUTCOME is not yet, kept in memory so
 * that the reconciliation watermark can be computed without reading the log. Thread-safe; every method is a short
 * critical section.
 *
 * <p><b>Watermark:</b> the lowest ledger index {@code w} such that every intent below {@code w} has its outcome on
 * the ledger, durably. It is the least of: the committed tree size; the smallest intent still waiting for its
 * outcome; and, for every intent whose append has started but whose index is not known (in flight, or failed with
 * an unknown result), the tree size when that append started (its index cannot be lower). An intent whose outcome
 * could never be appended in this run (the ledger failed) therefore holds the watermark down until the next start,
 * whose reconciliation scans from it and finds that intent again. The watermark only ever underestimates, which
 * costs a longer scan on the next start, never a missed intent.
 */
final class PendingIntents {

  private final LongSupplier committedSize;
  /** Floors (tree size at start) of intent appends whose index is not known, as a multiset. */
  private final TreeMap<Long, Integer> unknownIndexFloors = new TreeMap<>();
  private final TreeSet<Long> awaitingOutcome = new TreeSet<>();
  private long baseline;

  /**
   * @param committedSize the ledger's committed tree size ({@code ledger.latestCheckpoint().size()})
   * @param baseline the watermark established by the start-up reconciliation: every intent below it has an outcome
   */
  PendingIntents(LongSupplier committedSize, long baseline) {
    if (baseline < 0) {
      throw new IllegalArgumentException("baseline must be >= 0");
    }
    this.committedSize = committedSize;
    this.baseline = baseline;
  }

  /** A started intent append: pass it to {@link #appended} or {@link #appendFailed}, exactly once. */
  record Ticket(long floor) {
    Ticket {
      if (floor < 0) {
        throw new IllegalArgumentException("floor must be >= 0");
      }
    }
  }

  /** Call before appending an intent. */
  Ticket beforeIntent() {
    long floor = committedSize.getAsLong();
    synchronized (this) {
      unknownIndexFloors.merge(floor, 1, Integer::sum);
    }
    return new Ticket(floor);
  }

  /** The intent's append completed at {@code index}: it now waits for its outcome. */
  synchronized void appended(Ticket ticket, long index) {
    awaitingOutcome.add(index);
    release(ticket);
  }

  /**
   * The intent's append failed: it may or may not be on the ledger, so its floor keeps holding the watermark down
   * for the rest of this run (the next start's reconciliation settles it).
   */
  void appendFailed(Ticket ticket) {
    // Deliberately nothing: the ticket's floor stays.
  }

  /** The intent at {@code intentIndex} has its outcome on the ledger, durably. */
  synchronized void resolved(long intentIndex) {
    awaitingOutcome.remove(intentIndex);
  }

  /** The current watermark; never lower than the last one returned. */
  long watermark() {
    // Read the size first: any intent appended after this read has an index >= size.
    long size = committedSize.getAsLong();
    synchronized (this) {
      long w = size;
      if (!unknownIndexFloors.isEmpty()) {
        w = Math.min(w, unknownIndexFloors.firstKey());
      }
      if (!awaitingOutcome.isEmpty()) {
        w = Math.min(w, awaitingOutcome.first());
      }
      baseline = Math.max(baseline, w);
      return baseline;
    }
  }

  /** How many intents of this run wait for an outcome (including those whose index is unknown). */
  synchronized int size() {
    return awaitingOutcome.size() + unknownIndexFloors.values().stream().mapToInt(Integer::intValue).sum();
  }

  private void release(Ticket ticket) {
    unknownIndexFloors.computeIfPresent(ticket.floor(), (k, n) -> n == 1 ? null : n - 1);
  }
}
