package org.fhirledger.ledger.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Full audit of a log of {@code size} ~300-byte entries read from its H2 database: signature, every leaf hash,
 * every tile compared, root recomputed. Entries verified per second = size / (seconds per operation).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(1)
public class VerifyBenchmark {
  @Param("100000")
  public int size;

  private JdbcLedgerStorage storage;
  private LogVerifier verifier;

  @Setup(Level.Trial)
  public void build() throws Exception {
    Path dir = Files.createTempDirectory("ledger-bench-verify-");
    NoteSigner signer = NoteSigner.generate("bench.example/log", new SecureRandom());
    try (Ledger ledger = Ledgers.open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()), signer,
        LedgerOptions.defaults().withMaxBatchSize(4096))) {
      List<CompletableFuture<AppendResult>> inflight = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        inflight.add(ledger.appendAsync(AppendBenchmark.entry(i)));
      }
      for (var f : inflight) {
        f.get();
      }
    }
    storage = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC());
    verifier = new LogVerifier(signer.verifier());
  }

  @TearDown(Level.Trial)
  public void close() {
    storage.close();
  }

  @Benchmark
  public Checkpoint verifyLog() throws Exception {
    return verifier.verifyLog(new JdbcLogSource(storage));
  }
}
