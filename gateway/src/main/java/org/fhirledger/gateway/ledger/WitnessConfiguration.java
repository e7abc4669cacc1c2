package org.fhirledger.gateway.ledger;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.fhirledger.gateway.GatewayProperties;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.witness.CheckpointCosigning;
import org.fhirledger.ledger.witness.CosignatureVerifier;
import org.fhirledger.ledger.witness.Cosigner;
import org.fhirledger.ledger.witness.JdbcCosignedCheckpoints;
import org.fhirledger.ledger.witness.JdbcWitnessStore;
import org.fhirledger.ledger.witness.Witness;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Witnessing between gateways (C2SP tlog-witness): {@link Witness} when {@code gateway.ledger.witness.enabled}, and
 * {@link WitnessRounds} submitting this gateway's checkpoints to {@code gateway.ledger.witness.peers}.
 */
@Configuration(proxyBeanMethods = false)
class WitnessConfiguration {

  /** This gateway as a witness; its state lives in the ledger's database. Absent unless enabled. */
  @Bean
  WitnessHolder witness(GatewayProperties properties, Ledger ledger, Clock clock, SharedLedgerInstance shared)
      throws java.io.IOException {
    GatewayProperties.Witnessing w = properties.ledger().witness();
    if (!w.enabled()) {
      return new WitnessHolder(null);
    }
    Path dir = Files.createDirectories(properties.dataDir().toAbsolutePath().resolve("ledger"));
    String name = w.name() != null ? w.name() : properties.ledger().origin() + "/witness";
    Cosigner key = Cosigner.loadOrGenerate(w.keyFile() != null ? w.keyFile() : dir.resolve("witness.key"), name,
        new SecureRandom());
    List<NoteVerifier> logs = w.logs().stream().map(NoteVerifier::parse).toList();
    // Instances of one gateway sharing a PostgreSQL ledger share the witness key, so they must share its state
    // too: two states could each cosign a different tree of the same size.
    return new WitnessHolder(new Witness(key, logs, new JdbcWitnessStore(shared.shared() ? shared.dataSource()
        : JdbcLedgerStorage.h2(dir)), clock));
  }

  /** Submits this gateway's latest checkpoint to its peer witnesses every interval. */
  @Bean(destroyMethod = "close")
  WitnessRounds witnessRounds(GatewayProperties properties, Ledger ledger, Clock clock, SharedLedgerInstance shared)
      throws java.io.IOException, LedgerUnavailableException {
    GatewayProperties.Witnessing w = properties.ledger().witness();
    List<MicronautWitnessClient> clients = new ArrayList<>();
    for (Map.Entry<String, GatewayProperties.WitnessPeer> p : w.peers().entrySet()) {
      if (p.getValue().url() == null || p.getValue().vkey() == null) {
        throw new IllegalStateException("gateway.ledger.witness.peers." + p.getKey() + " needs url and vkey");
      }
      clients.add(new MicronautWitnessClient(p.getValue().url(), CosignatureVerifier.parse(p.getValue().vkey())));
    }
    if (clients.isEmpty()) {
      return new WitnessRounds(null, clients, 0);
    }
    // The cosigned checkpoint is kept in the ledger's database: a restart (or another instance of a shared ledger)
    // serves the cosignatures collected so far at once.
    javax.sql.DataSource db = shared.shared() ? shared.dataSource()
        : JdbcLedgerStorage.h2(Files.createDirectories(properties.dataDir().toAbsolutePath().resolve("ledger")));
    return new WitnessRounds(new CheckpointCosigning(ledger, List.copyOf(clients),
        new JdbcCosignedCheckpoints(db, ledger.verifier().name(), clock)), clients, w.interval().toMillis());
  }

  /** The witness, if this gateway is one. */
  record WitnessHolder(Witness witness) {}

  /** The scheduled cosigning rounds; none when no peers are configured. */
  static final class WitnessRounds implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WitnessRounds.class);
    private final CheckpointCosigning cosigning;
    private final List<MicronautWitnessClient> clients;
    private final ScheduledExecutorService timer;

    WitnessRounds(CheckpointCosigning cosigning, List<MicronautWitnessClient> clients, long intervalMillis) {
      this.clients = clients;
      this.cosigning = cosigning;
      this.timer = clients.isEmpty() ? null : Executors.newSingleThreadScheduledExecutor(
          Thread.ofPlatform().name("ledger-witness-rounds").daemon(true).factory());
      if (timer != null) {
        timer.scheduleWithFixedDelay(this::round, 0, Math.max(100, intervalMillis), TimeUnit.MILLISECONDS);
      }
    }

    private void round() {
      try {
        cosigning.cosignLatest();
      } catch (LedgerUnavailableException | RuntimeException e) {
        log.warn("witness round failed: {}", e.getMessage());
      }
    }

    /** The cosigning, if peers are configured. */
    java.util.Optional<CheckpointCosigning> cosigning() {
      return java.util.Optional.ofNullable(cosigning);
    }

    @Override
    public void close() {
      if (timer != null) {
        timer.shutdownNow();
      }
      clients.forEach(MicronautWitnessClient::close);
    }
  }
}
