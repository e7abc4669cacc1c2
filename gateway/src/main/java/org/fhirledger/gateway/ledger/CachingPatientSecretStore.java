package org.fhirledger.gateway.ledger;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.entry.PatientSecretStore;

/**
 * Keeps patients' pseudonym secrets in memory in front of the database store, so that naming a
 * patient on the ledger costs no database round trip once the patient has been seen (it was an H2
 * session and a SELECT on every read). Thread-safe.
 *
 * <p>Erasure stays exact: {@link #erase} runs inside the cache's per-key computation, so no
 * concurrent {@link #secretFor} of this process can put the erased secret back; after it returns, the next lookup
 * goes to the database and finds no secret (and creates a new, unrelated one).
 *
 * <p><b>Several processes on one store</b> (a shared PostgreSQL ledger): another instance's cache does not see this
 * one's erasure, so with a {@code ttl} every cached secret is used for at most {@code ttl} after the database read
 * that found it <i>started</i>, and {@link #erase} waits {@code ttl} after the row is deleted before it returns. Any
 * read that found the erased secret started before the delete, so once {@link #erase} has returned no instance
 * hands out the erased secret again.
 */
final class CachingPatientSecretStore implements PatientSecretStore, AutoCloseable {

  private record Cached(byte[] secret, long readStartNanos) {}

  private final PatientSecretStore delegate;
  private final Cache<String, Cached> secrets;
  private final Duration ttl;

  /** A cache for the only process using {@code delegate}: entries never expire, erasure is immediate. */
  CachingPatientSecretStore(PatientSecretStore delegate, long maximumSize) {
    this(delegate, maximumSize, null);
  }

  /**
   * @param ttl how long a secret read from {@code delegate} may be used (null: forever, for a store no other process
   *     uses)
   */
  CachingPatientSecretStore(PatientSecretStore delegate, long maximumSize, Duration ttl) {
    this.delegate = Objects.requireNonNull(delegate, "delegate");
    if (ttl != null && (ttl.isNegative() || ttl.isZero())) {
      throw new IllegalArgumentException("ttl must be positive");
    }
    this.ttl = ttl;
    Caffeine<Object, Object> builder = Caffeine.newBuilder().maximumSize(maximumSize);
    if (ttl != null) {
      builder.expireAfter(new Expiry<String, Cached>() {
        @Override
        public long expireAfterCreate(String key, Cached value, long currentTime) {
          return Math.max(0, ttl.toNanos() - (System.nanoTime() - value.readStartNanos()));
        }

        @Override
        public long expireAfterUpdate(String key, Cached value, long currentTime, long currentDuration) {
          return expireAfterCreate(key, value, currentTime);
        }

        @Override
        public long expireAfterRead(String key, Cached value, long currentTime, long currentDuration) {
          return currentDuration;
        }
      });
    }
    this.secrets = builder.build();
  }

  @Override
  public byte[] secretFor(String patientReference) throws LedgerUnavailableException {
    Cached cached = fresh(secrets.getIfPresent(patientReference));
    if (cached != null) {
      return cached.secret().clone();
    }
    try {
      return secrets.asMap().compute(patientReference, (ref, old) -> {
        Cached current = fresh(old);
        if (current != null) {
          return current;
        }
        long start = System.nanoTime();
        try {
          return new Cached(delegate.secretFor(ref), start);
        } catch (LedgerUnavailableException e) {
          throw new Unavailable(e);
        }
      }).secret().clone();
    } catch (Unavailable e) {
      throw e.cause;
    }
  }

  @Override
  public Optional<byte[]> existingSecret(String patientReference) throws LedgerUnavailableException {
    Cached cached = fresh(secrets.getIfPresent(patientReference));
    return cached != null ? Optional.of(cached.secret().clone()) : delegate.existingSecret(patientReference);
  }

  @Override
  public boolean erase(String patientReference) throws LedgerUnavailableException {
    boolean[] existed = new boolean[1];
    try {
      secrets.asMap().compute(patientReference, (ref, old) -> {
        try {
          existed[0] = delegate.erase(ref);
          return null;
        } catch (LedgerUnavailableException e) {
          throw new Unavailable(e);
        }
      });
    } catch (Unavailable e) {
      throw e.cause;
    }
    if (ttl != null) {
      awaitOtherCaches();
    }
    return existed[0];
  }

  /** Closes the store it caches, when that holds connections (a pooled database store); the cache is not used after. */
  @Override
  public void close() throws Exception {
    if (delegate instanceof AutoCloseable closeable) {
      closeable.close();
    }
  }

  /** Waits until every secret another process may have read before the delete has expired from its cache. */
  private void awaitOtherCaches() throws LedgerUnavailableException {
    try {
      Thread.sleep(ttl.plusMillis(50)); // a bound on other caches' lifetimes, not synchronisation with a thread
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new LedgerUnavailableException("interrupted while other instances' caches expire the erased secret");
    }
  }

  /** The entry if it may still be used (Caffeine expires lazily, so check the age here too). */
  private Cached fresh(Cached c) {
    if (c == null || ttl == null || System.nanoTime() - c.readStartNanos() < ttl.toNanos()) {
      return c;
    }
    return null;
  }

  /** Carries the store's checked exception through the cache's functional interfaces. */
  private static final class Unavailable extends RuntimeException {
    final LedgerUnavailableException cause;

    Unavailable(LedgerUnavailableException cause) {
      super(cause.getMessage(), cause, false, false);
      this.cause = cause;
    }
  }
}
