package org.fhirledger.gateway;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The gateway's own settings ({@code gateway.*}).
 *
 * @param dataDir where the gateway keeps its state (the sandbox EHR's database, later the ledger)
 * @param publicBaseUrl the FHIR base URL clients use, when the gateway sits behind a proxy that
 *     rewrites host or path; when empty, the base is taken from each request
 * @param upstream how to reach the EHR
 */
@ConfigurationProperties("gateway")
public record GatewayProperties(
    @DefaultValue("data") Path dataDir, URI publicBaseUrl, @DefaultValue Upstream upstream) {

  /**
   * @param baseUrl the EHR's FHIR base URL; when empty the gateway starts its embedded sandbox EHR
   * @param connectTimeout TCP connect timeout
   * @param readTimeout how long to wait for the EHR's answer
   * @param maxConnections connection pool size
   * @param maxRetries retries of idempotent reads after connection failures
   * @param maxContentLength the largest EHR response accepted
   * @param versionConflictAs412 answer 412 where a HAPI-based EHR answers a stale If-Match with 409
   */
  public record Upstream(
      URI baseUrl,
      @DefaultValue("5s") Duration connectTimeout,
      @DefaultValue("60s") Duration readTimeout,
      @DefaultValue("64") int maxConnections,
      @DefaultValue("2") int maxRetries,
      @DefaultValue("64MB") DataSize maxContentLength,
      @DefaultValue("true") boolean versionConflictAs412) {}
}
