package org.fhirledger.gateway.upstream;

import java.time.Duration;
import java.util.Objects;

/**
 * How the gateway talks to the EHR.
 *
 * @param connectTimeout how long to wait for a TCP connection
 * @param readTimeout how long to wait for the EHR's answer once the request is sent
 * @param maxConnections the size of the connection pool
 * @param maxRetries how many times a failed idempotent read is tried again (0 to 5)
 * @param maxContentLength the largest response body accepted, in bytes
 */
public record UpstreamSettings(
    Duration connectTimeout,
    Duration readTimeout,
    int maxConnections,
    int maxRetries,
    int maxContentLength) {

  public UpstreamSettings {
    requirePositive(Objects.requireNonNull(connectTimeout, "connectTimeout"), "connectTimeout");
    requirePositive(Objects.requireNonNull(readTimeout, "readTimeout"), "readTimeout");
    if (maxConnections < 1) {
      throw new IllegalArgumentException("maxConnections must be at least 1");
    }
    if (maxRetries < 0 || maxRetries > 5) {
      throw new IllegalArgumentException("maxRetries must be between 0 and 5");
    }
    if (maxContentLength < 1024) {
      throw new IllegalArgumentException("maxContentLength must be at least 1024 bytes");
    }
  }

  private static void requirePositive(Duration d, String name) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException(name + " must be positive");
    }
  }

  public static UpstreamSettings defaults() {
    return new UpstreamSettings(Duration.ofSeconds(5), Duration.ofSeconds(60), 64, 2, 64 * 1024 * 1024);
  }
}
