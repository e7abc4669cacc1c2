package org.fhirledger.gateway;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;

/**
 * The gateway's own settings ({@code gateway.*}).
 *
 * @param dataDir where the gateway keeps its state: the ledger and its signing key, the sandbox EHR's database
 * @param publicBaseUrl the FHIR base URL clients use, when the gateway sits behind a proxy that
 *     rewrites host or path; when empty, the base is taken from each request
 * @param upstream how to reach the EHR
 * @param ledger the ledger's settings
 * @param admin administrative operations
 * @param provenance the Provenance the gateway stores for writes
 */
@ConfigurationProperties("gateway")
public record GatewayProperties(
    @DefaultValue("data") Path dataDir,
    URI publicBaseUrl,
    @DefaultValue Upstream upstream,
    @DefaultValue LedgerSettings ledger,
    @DefaultValue Admin admin,
    @DefaultValue ProvenanceSettings provenance) {

  /**
   * @param enabled whether every successful write through the gateway gets a Provenance stored in the EHR
   * @param maxBatch most Provenances of concurrent writes stored in the EHR with one transaction bundle (group
   *     commit); 1 stores each request's Provenances with a request of its own
   */
  public record ProvenanceSettings(@DefaultValue("true") boolean enabled, @DefaultValue("1") int maxBatch) {}

  /**
   * @param erasureEnabled whether {@code Patient/<id>/$erase-pseudonym} may be called at all (from loopback only)
   */
  public record Admin(@DefaultValue("false") boolean erasureEnabled) {}

  /**
   * @param origin the log's origin line (C2SP tlog-checkpoint): by convention the public URL prefix
   *     of {@code /ledger} without the scheme, for example {@code gateway.hospital.example/ledger};
   *     it is also the signing key's name, so it must not change once the log has entries
   * @param maxBatchSize most entries committed in one transaction and checkpoint
   * @param maxBatchDelay how long the sequencer waits to fill a batch (0: batch only under load)
   * @param watermarkInterval how often the reconciliation watermark is stored (also stored on clean shutdown)
   * @param mode {@code local}: this gateway's own log; {@code raft}: one log replicated between organizations
   *     (module ledger-replication), where this gateway runs one member
   * @param raft the member's settings in {@code raft} mode
   */
  public record LedgerSettings(
      @DefaultValue("localhost/ledger") String origin,
      @DefaultValue("1024") int maxBatchSize,
      @DefaultValue("0ms") Duration maxBatchDelay,
      @DefaultValue("10s") Duration watermarkInterval,
      @DefaultValue("local") LedgerMode mode,
      @DefaultValue Raft raft,
      @DefaultValue Witnessing witness) {}

  /**
   * C2SP tlog-witness between gateways: this gateway as a witness of other organizations' logs, and the witnesses
   * this gateway's log asks to cosign its checkpoints.
   *
   * @param enabled serve {@code POST /ledger/witness/add-checkpoint} for the logs in {@code logs}
   * @param name this witness's key name (default {@code <origin>/witness})
   * @param keyFile this witness's cosigning key (default {@code <data-dir>/ledger/witness.key}, generated on first
   *     start, mode 0600, with its vkey beside it)
   * @param logs verifier keys ({@code name+id+key}) of the logs this gateway witnesses
   * @param peers witnesses this gateway's log submits its checkpoints to, by name: {@code url} (their submission
   *     prefix, e.g. {@code https://other.example/ledger/witness}) and {@code vkey} (their cosigning key)
   * @param interval how often the latest checkpoint is submitted to the peers
   */
  public record Witnessing(
      @DefaultValue("false") boolean enabled,
      String name,
      Path keyFile,
      @DefaultValue List<String> logs,
      @DefaultValue Map<String, WitnessPeer> peers,
      @DefaultValue("2s") Duration interval) {}

  /** A witness this gateway's log submits its checkpoints to. */
  public record WitnessPeer(URI url, String vkey) {}

  /** Where the ledger lives. */
  public enum LedgerMode {
    /** This gateway's own log in its data directory. */
    LOCAL,
    /** One member of a log replicated between organizations on Apache Ratis. */
    RAFT
  }

  /**
   * One member of the replicated ledger ({@code gateway.ledger.mode=raft}). In this mode {@code gateway.ledger.origin}
   * names this gateway inside the shared log (its entries carry it; it reconciles only its own intents), and the
   * log itself is named by the group key.
   *
   * @param memberId this gateway's member id, a key of {@code peers}
   * @param peers every member's Raft endpoint, this one included: {@code gateway.ledger.raft.peers.<id>=host:port};
   *     identical on every member
   * @param groupKeyFile the group's signing key ({@code PRIVATE+KEY+<log origin>+...}), the same file on every
   *     member; its name is the log origin
   * @param electionTimeout minimum Raft election timeout; leader failover takes about this long
   * @param snapshotEvery Raft log entries (batches) between snapshots
   */
  public record Raft(
      String memberId,
      Map<String, String> peers,
      Path groupKeyFile,
      @DefaultValue("1s") Duration electionTimeout,
      @DefaultValue("10000") long snapshotEvery) {}


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
