package org.fhirledger.gateway.upstream;

/**
 * The one seam between the gateway and the EHR behind it: sends a FHIR REST interaction and
 * returns the EHR's answer as it came, whatever its status.
 *
 * <p>Implementations are thread-safe and pool their connections. A response with any HTTP status
 * (including 4xx and 5xx) is a normal return; only failures to get a response at all throw.
 * Implementations may retry idempotent reads ({@code GET}) on connection failures, a bounded number
 * of times; they never retry any other method, so a write reaches the EHR at most once per call.
 */
public interface UpstreamFhirClient extends AutoCloseable {

  /**
   * Sends {@code request} to the EHR and waits for the whole response.
   *
   * @throws UpstreamUnavailableException when no connection to the EHR could be made or it broke
   *     before a response arrived
   * @throws UpstreamTimeoutException when the EHR did not answer within the configured read timeout
   */
  UpstreamResponse exchange(UpstreamRequest request);

  /** The EHR's FHIR base URL, without a trailing slash. Never null. */
  java.net.URI baseUrl();

  /** Releases pooled connections and threads. Idempotent. */
  @Override
  void close();
}
