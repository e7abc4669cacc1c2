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
   *     (module ledger-replication), where this gateway runs one member; {@code shared-postgres}: one of several
   *     instances of one organization's gateway sharing one PostgreSQL ledger
   * @param raft the member's settings in {@code raft} mode
   * @param sharedPostgres the instance's settings in {@code shared-postgres} mode
   */
  public record LedgerSettings(
      @DefaultValue("localhost/ledger") String origin,
      @DefaultValue("1024") int maxBatchSize,
      @DefaultValue("0ms") Duration maxBatchDelay,
      @DefaultValue("10s") Duration watermarkInterval,
      @DefaultValue("local") LedgerMode mode,
      @DefaultValue Raft raft,
      @DefaultValue SharedPostgres sharedPostgres,
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
    RAFT,
    /** One of several gateway instances sharing one PostgreSQL ledger, one sequencer at a time. */
    SHARED_POSTGRES
  }

  /**
   * One of several instances of this organization's gateway on one PostgreSQL ledger
   * ({@code gateway.ledger.mode=shared-postgres}). In this mode {@code gateway.ledger.origin} names this
   * <i>instance</i> (its entries carry it, it reconciles its own intents, and it must be unique among the live
   * instances), and the log itself is named by the key in {@code keyFile}.
   *
   * @param jdbcUrl the shared PostgreSQL database, e.g. {@code jdbc:postgresql://db.internal:5432/ledger}
   * @param username database user (may also be given in the URL)
   * @param password database password (may also be given in the URL)
   * @param keyFile the log's signing key ({@code PRIVATE+KEY+<log origin>+...}), the same file on every instance
   * @param leaseSlice how long a busy sequencer keeps the sequencer lease while another instance waits for it
   * @param secretCacheTtl how long an instance may use a pseudonym secret it read without reading it again; an
   *     erasure waits this long before it answers, so that afterwards no instance uses the erased secret
   * @param orphanCheckInterval how often an instance looks for instances that died with unreconciled intents
   * @param followInterval how often an instance reads the entries other instances appended (Consent changes)
   */
  public record SharedPostgres(
      String jdbcUrl,
      String username,
      String password,
      Path keyFile,
      @DefaultValue("100ms") Duration leaseSlice,
      @DefaultValue("1s") Duration secretCacheTtl,
      @DefaultValue("2s") Duration orphanCheckInterval,
      @DefaultValue("500ms") Duration followInterval) {}

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
   * @param tls mutual TLS between the members with pinned certificates (required unless {@code plaintext})
   * @param plaintext run the Raft port without TLS: only where every member sits on one trusted network
   */
  public record Raft(
      String memberId,
      Map<String, String> peers,
      Path groupKeyFile,
      @DefaultValue("1s") Duration electionTimeout,
      @DefaultValue("10000") long snapshotEvery,
      RaftTlsFiles tls,
      @DefaultValue("false") boolean plaintext) {}

  /**
   * A Raft member's TLS files, PEM ({@code KeyTool tls <member id> <key file> <cert file>} creates a pair).
   *
   * @param keyFile this member's private key (PKCS#8), never shared
   * @param certFile this member's certificate
   * @param memberCerts the certificate of every member of the group, this one's included: the only certificates
   *     the Raft port accepts, in either direction
   */
  public record RaftTlsFiles(Path keyFile, Path certFile, List<Path> memberCerts) {}


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
