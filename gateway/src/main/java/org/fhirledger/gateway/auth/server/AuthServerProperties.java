package org.fhirledger.gateway.auth.server;

import java.nio.file.Path;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;

/**
 * Settings of the embedded authorization server ({@code gateway.auth-server.*}).
 *
 * @param enabled whether the gateway runs its own authorization server (off when an external issuer is used)
 * @param clientsFile the clients file (JSON, or YAML when named {@code .yml}/{@code .yaml});
 *     default {@code <data-dir>/smart-clients.json}, written with a demo client when absent
 * @param accessTokenTtl how long access tokens live; at most 300 s
 * @param pickerPageSize how many patients the patient picker lists at once
 * @param maxPendingAssertions most client assertions remembered (until they expire) to refuse replays
 */
@ConfigurationProperties("gateway.auth-server")
public record AuthServerProperties(
    @DefaultValue("true") boolean enabled,
    Path clientsFile,
    @DefaultValue("300s") Duration accessTokenTtl,
    @DefaultValue("50") int pickerPageSize,
    @DefaultValue("100000") int maxPendingAssertions) {

  public AuthServerProperties {
    if (accessTokenTtl.isNegative() || accessTokenTtl.isZero() || accessTokenTtl.compareTo(Duration.ofSeconds(300)) > 0) {
      throw new IllegalArgumentException("gateway.auth-server.access-token-ttl must be between 1s and 300s");
    }
    if (pickerPageSize < 1 || pickerPageSize > 500) {
      throw new IllegalArgumentException("gateway.auth-server.picker-page-size must be between 1 and 500");
    }
    if (maxPendingAssertions < 1) {
      throw new IllegalArgumentException("gateway.auth-server.max-pending-assertions must be positive");
    }
  }
}
