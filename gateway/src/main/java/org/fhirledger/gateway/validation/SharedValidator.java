package org.fhirledger.gateway.validation;

import ca.uhn.fhir.rest.server.exceptions.UnclassifiedServerFailureException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.fhirledger.profiles.validation.ResourceValidator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The process's one {@link ResourceValidator}, built and warmed on a background thread from start-up, so that the
 * gateway opens its port without waiting for packages to load and the first write does not pay for snapshot
 * generation. Thread-safe.
 */
public final class SharedValidator implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(SharedValidator.class);

  private final CompletableFuture<ResourceValidator> ready;
  private final Duration maxWait;
  private final Thread loader;

  private SharedValidator(Supplier<ResourceValidator> build, Duration maxWait) {
    this.ready = new CompletableFuture<>();
    this.maxWait = maxWait;
    this.loader = Thread.ofPlatform().daemon().name("validator-loader").unstarted(() -> {
      long start = System.nanoTime();
      try {
        ready.complete(build.get());
        log.info("Write validation ready in {} ms", (System.nanoTime() - start) / 1_000_000);
      } catch (Throwable e) {
        log.error("The write validator could not be built; writes that need validation are refused with 503", e);
        ready.completeExceptionally(e);
      }
    });
  }

  /** Starts building the validator on a background thread. */
  public static SharedValidator startLoading(Supplier<ResourceValidator> build, Duration maxWait) {
    SharedValidator shared = new SharedValidator(build, maxWait);
    shared.loader.start();
    return shared;
  }

  /**
   * The validator, waiting for it while it is still loading.
   *
   * @throws UnclassifiedServerFailureException 503 if it is not ready within the wait limit or failed to load
   */
  public ResourceValidator get() {
    try {
      return ready.get(maxWait.toMillis(), TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      throw new UnclassifiedServerFailureException(503, "The gateway is still loading its FHIR validation packages, "
          + "so this write was not accepted or forwarded. Try again in a minute.");
    } catch (ExecutionException e) {
      throw new UnclassifiedServerFailureException(503, "The gateway's FHIR validator failed to load, so writes that "
          + "need validation are refused and nothing was forwarded. Ask the gateway's operators to check its log.");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UnclassifiedServerFailureException(503, "Interrupted while waiting for the validator; try again.");
    }
  }

  /** Whether the validator has finished loading (successfully or not). */
  public boolean isDone() {
    return ready.isDone();
  }

  @Override
  public void close() {
    loader.interrupt();
  }
}
