package org.fhirledger.gateway.auth.server;

import java.time.Clock;
import java.time.Instant;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The client assertions ({@code iss} + {@code jti}) this node has accepted and that have not
 * expired yet, so that a replayed assertion is refused (RFC 7523 section 3, SMART Backend Services).
 *
 * <p>Per node and in memory: gateways behind a load balancer each keep their own, so an assertion
 * could be replayed once against each other node within its (at most five minutes of) lifetime.
 * Bounded: when {@code capacity} unexpired assertions are held, new ones are refused (fail closed)
 * rather than forgetting ones that could still be replayed. Thread-safe.
 */
final class SeenAssertions {

  private final Clock clock;
  private final int capacity;
  // Insertion order is close to expiry order (lifetimes are capped), so purging scans from the head.
  private final LinkedHashMap<String, Instant> seen = new LinkedHashMap<>();

  SeenAssertions(Clock clock, int capacity) {
    this.clock = clock;
    this.capacity = capacity;
  }

  /** Outcome of {@link #firstUse}. */
  enum Use { FIRST, REPLAY, FULL }

  /**
   * Records the assertion {@code jti} of {@code issuer}, valid until {@code expiresAt}, and says
   * whether it is the first use.
   */
  synchronized Use firstUse(String issuer, String jti, Instant expiresAt) {
    Instant now = clock.instant();
    purge(now);
    String key = issuer.length() + ":" + issuer + jti;
    Instant previous = seen.get(key);
    if (previous != null && previous.isAfter(now)) {
      return Use.REPLAY;
    }
    if (seen.size() >= capacity) {
      return Use.FULL;
    }
    seen.put(key, expiresAt);
    return Use.FIRST;
  }

  private void purge(Instant now) {
    Iterator<Map.Entry<String, Instant>> it = seen.entrySet().iterator();
    int scanned = 0;
    while (it.hasNext() && scanned++ < 1024) {
      if (!it.next().getValue().isAfter(now)) {
        it.remove();
      }
    }
  }
}
