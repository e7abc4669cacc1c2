package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.context.FhirContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import org.fhirledger.gateway.GatewayProperties;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.entry.PatientSecretStore;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.jdbc.JdbcPatientSecretStore;
import org.fhirledger.ledger.jdbc.SharedPostgresLedger;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.raft.RaftLedger;
import org.fhirledger.ledger.raft.RaftMemberConfig;
import org.fhirledger.ledger.raft.RaftTls;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The gateway's ledger: an H2 file database in {@code <data-dir>/ledger/}, signed with the key in
 * that directory (generated on first start, readable only by its owner), and the off-ledger store
 * of patients' pseudonym secrets beside it. In {@code raft} mode, this gateway's member of a replicated log; in
 * {@code shared-postgres} mode, one of several instances on one PostgreSQL ledger, where the secrets and the
 * reconciliation watermarks live in that database too.
 */
@Configuration(proxyBeanMethods = false)
class LedgerConfiguration {

  /** How long a starting instance waits for its own lock (a survivor may be settling its previous run). */
  private static final java.time.Duration INSTANCE_LOCK_WAIT = java.time.Duration.ofSeconds(60);
  /** Connections the H2 secret store keeps open: about one per request thread that may meet a new patient. */
  private static final int SECRET_CONNECTIONS = 8;

  @Bean
  Clock clock() {
    return Clock.systemUTC();
  }

  /** The shared PostgreSQL database in {@code shared-postgres} mode (none otherwise). */
  @Bean(destroyMethod = "")
  SharedLedgerInstance sharedLedgerDatabase(GatewayProperties properties) {
    return properties.ledger().mode() == GatewayProperties.LedgerMode.SHARED_POSTGRES
        ? SharedLedgerInstance.of(properties.ledger().sharedPostgres(), properties.ledger().origin())
        : SharedLedgerInstance.none();
  }

  @Bean(destroyMethod = "close")
  Ledger ledger(GatewayProperties properties, Clock clock, SharedLedgerInstance shared)
      throws LedgerUnavailableException, LedgerVerificationException, java.io.IOException {
    GatewayProperties.LedgerSettings settings = properties.ledger();
    LedgerOptions options = LedgerOptions.defaults()
        .withClock(clock)
        .withMaxBatchSize(settings.maxBatchSize())
        .withMaxBatchDelay(settings.maxBatchDelay());
    if (settings.mode() == GatewayProperties.LedgerMode.RAFT) {
      return raftMember(properties, settings, options);
    }
    if (shared.shared()) {
      // The log is named by its key; gateway.ledger.origin names this instance (its entries carry it).
      GatewayProperties.SharedPostgres sp = settings.sharedPostgres();
      NoteSigner signer;
      try {
        signer = NoteSigner.parse(Files.readString(sp.keyFile()).trim());
      } catch (java.io.IOException | IllegalArgumentException e) {
        throw new IllegalStateException("gateway.ledger.shared-postgres.key-file " + sp.keyFile() + " is not a "
            + "readable log signing key (create it once with KeyTool group <log origin> <file> and give every "
            + "instance a copy; " + (e instanceof java.io.IOException ? e.getMessage() : "it does not parse") + ")");
      }
      return SharedPostgresLedger.open(shared.dataSource(), signer,
          options.withWriterName("instance " + settings.origin()), sp.leaseSlice());
    }
    return Ledgers.openH2(ledgerDir(properties), settings.origin(), options);
  }

  /** This gateway's member of the replicated ledger: its own copy of the log in the same H2 database file. */
  private static Ledger raftMember(GatewayProperties properties, GatewayProperties.LedgerSettings settings,
      LedgerOptions options) throws LedgerUnavailableException, LedgerVerificationException, java.io.IOException {
    GatewayProperties.Raft raft = settings.raft();
    if (raft.memberId() == null || raft.peers() == null || raft.peers().isEmpty() || raft.groupKeyFile() == null) {
      throw new IllegalStateException("gateway.ledger.mode=raft needs gateway.ledger.raft.member-id, "
          + "gateway.ledger.raft.peers.<id>=host:port for every member, and gateway.ledger.raft.group-key-file");
    }
    NoteSigner group = NoteSigner.parse(Files.readString(raft.groupKeyFile()).trim());
    Path dir = ledgerDir(properties);
    RaftMemberConfig member = RaftMemberConfig.of(raft.memberId(), raft.peers(), dir)
        .withElectionTimeout(raft.electionTimeout())
        .withSnapshotEvery(raft.snapshotEvery())
        .withTls(raftTls(raft));
    return RaftLedger.open(member, JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), options.clock()), group,
        options.withWriterName("raft member " + raft.memberId()));
  }

  /** The member's mutual TLS, or null where plaintext was chosen explicitly; anything else does not start. */
  static RaftTls raftTls(GatewayProperties.Raft raft) {
    GatewayProperties.RaftTlsFiles tls = raft.tls();
    boolean configured = tls != null && (tls.keyFile() != null || tls.certFile() != null
        || (tls.memberCerts() != null && !tls.memberCerts().isEmpty()));
    if (raft.plaintext()) {
      if (configured) {
        throw new IllegalStateException("gateway.ledger.raft.plaintext=true and gateway.ledger.raft.tls.* are both "
            + "set: choose one");
      }
      return null;
    }
    if (!configured || tls.keyFile() == null || tls.certFile() == null || tls.memberCerts() == null
        || tls.memberCerts().isEmpty()) {
      throw new IllegalStateException("gateway.ledger.mode=raft needs mutual TLS between the members: "
          + "gateway.ledger.raft.tls.key-file, gateway.ledger.raft.tls.cert-file and "
          + "gateway.ledger.raft.tls.member-certs (every member's certificate; KeyTool tls creates a key and "
          + "certificate), or gateway.ledger.raft.plaintext=true where all members share one trusted network");
    }
    return RaftTls.load(tls.keyFile(), tls.certFile(), tls.memberCerts());
  }

  /**
   * Patients' pseudonym secrets, cached; in the ledger's H2 file through a few pooled connections (closed with the
   * gateway, so a gateway started again on the same data dir opens a fresh pool), or in the shared database.
   */
  @Bean(destroyMethod = "close")
  PatientSecretStore patientSecretStore(GatewayProperties properties, Clock clock, Ledger ledger,
      SharedLedgerInstance shared) throws LedgerUnavailableException, java.io.IOException {
    if (shared.shared()) {
      // One secret per patient for all instances (insert-if-absent on the primary key); a bounded cache lifetime so
      // that an erasure through any instance is seen by all (see CachingPatientSecretStore). A connection per call:
      // the database is a server that may restart under a pool.
      return new CachingPatientSecretStore(JdbcPatientSecretStore.open(shared.dataSource(), clock, new SecureRandom()),
          100_000, properties.ledger().sharedPostgres().secretCacheTtl());
    }
    return new CachingPatientSecretStore(JdbcPatientSecretStore.openPooled(JdbcLedgerStorage.h2(ledgerDir(properties)),
        clock, new SecureRandom(), SECRET_CONNECTIONS), 100_000);
  }

  /**
   * Reconciles the intents a previous run left without outcomes, then keeps the watermark for the next start.
   * Built before the recorder, and so before the FHIR endpoint exists: the gateway serves nothing until every
   * earlier write is settled, and does not start if that fails.
   */
  @Bean(destroyMethod = "close")
  WatermarkKeeper watermarkKeeper(Ledger ledger, PatientSecretStore secrets, FhirContext fhirContext,
      UpstreamFhirClient upstream, GatewayProperties properties, Clock clock, SharedInstanceHandle instance)
      throws java.io.IOException {
    String origin = properties.ledger().origin();
    SharedLedgerInstance shared = instance.shared();
    WatermarkStore file;
    if (shared.shared()) {
      // Nothing is appended in this instance's name before it holds its instance lock: while it lives, no other
      // instance reconciles its intents; a survivor settling this instance's previous run finishes first.
      shared.lock(INSTANCE_LOCK_WAIT);
      file = new JdbcWatermarkStore(shared.dataSource(), origin, clock);
    } else {
      file = new WatermarkFile(ledgerDir(properties), origin);
    }
    Pseudonymizer pseudonymizer = new Pseudonymizer(secrets);
    FhirContent content = new FhirContent(fhirContext);
    long watermark = new IntentReconciler(ledger, pseudonymizer, content, upstream, origin, clock).reconcile(file);
    if (shared.shared()) {
      shared.startOrphanChecks(
          owner -> new IntentReconciler(ledger, pseudonymizer, content, upstream, origin, owner, clock), clock,
          properties.ledger().sharedPostgres().orphanCheckInterval());
    }
    PendingIntents pending = new PendingIntents(() -> ledger.latestCheckpoint().size(), watermark);
    return WatermarkKeeper.start(pending, file, watermark, properties.ledger().watermarkInterval());
  }

  @Bean
  InteractionRecorder interactionRecorder(Ledger ledger, PatientSecretStore secrets, FhirContext fhirContext,
      GatewayProperties properties, Clock clock, WatermarkKeeper watermarkKeeper) {
    return new InteractionRecorder(ledger, new Pseudonymizer(secrets), new FhirContent(fhirContext),
        properties.ledger().origin(), clock, watermarkKeeper.pending());
  }

  @Bean
  PseudonymErasure pseudonymErasure(GatewayProperties properties, PatientSecretStore secrets,
      InteractionRecorder recorder, FhirContext fhirContext) {
    return new PseudonymErasure(new ErasureAccess(properties.admin().erasureEnabled()), secrets, recorder, fhirContext);
  }

  /**
   * Orders shutdown: the instance (its lock and orphan checks) closes after the watermark keeper stored the last
   * watermark and before the ledger closes.
   */
  @Bean(destroyMethod = "close")
  SharedInstanceHandle sharedInstance(SharedLedgerInstance shared, Ledger ledger) {
    return new SharedInstanceHandle(shared);
  }

  /** The shared instance, closed by Spring in dependency order. */
  record SharedInstanceHandle(SharedLedgerInstance shared) implements AutoCloseable {
    @Override
    public void close() {
      shared.close();
    }
  }

  private static Path ledgerDir(GatewayProperties properties) throws java.io.IOException {
    return Files.createDirectories(properties.dataDir().toAbsolutePath().resolve("ledger"));
  }
}
