package org.fhirledger.ledger.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.InclusionProof;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.merkle.ProofVerifier;
import org.fhirledger.ledger.merkle.Rfc6962;
import org.fhirledger.ledger.note.NoteSigner;
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
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Inclusion proofs at a tree of {@code size} entries (1M by default) on H2, for random indexes against the latest
 * checkpoint: the proof read from stored tiles, and the proof's verification.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.AverageTime, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(1)
public class ProofBenchmark {
  @Param("1000000")
  public int size;

  private Ledger ledger;
  private Checkpoint checkpoint;
  private InclusionProof sampleProof;
  private byte[] sampleLeaf;

  @Setup(Level.Trial)
  public void build() throws Exception {
    Path dir = Files.createTempDirectory("ledger-bench-proof-");
    ledger = Ledgers.open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()),
        NoteSigner.generate("bench.example/log", new SecureRandom()), LedgerOptions.defaults().withMaxBatchSize(4096));
    List<CompletableFuture<AppendResult>> inflight = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      inflight.add(ledger.appendAsync(AppendBenchmark.entry(i)));
      if (inflight.size() == 16384) {
        for (var f : inflight) {
          f.get();
        }
        inflight.clear();
      }
    }
    for (var f : inflight) {
      f.get();
    }
    checkpoint = ledger.latestCheckpoint();
    sampleProof = ledger.inclusionProof(size / 3, checkpoint.size());
    sampleLeaf = Rfc6962.leafHash(AppendBenchmark.entry(size / 3));
  }

  @TearDown(Level.Trial)
  public void close() {
    ledger.close();
  }

  @Benchmark
  public InclusionProof inclusionProof() throws Exception {
    return ledger.inclusionProof(ThreadLocalRandom.current().nextLong(checkpoint.size()), checkpoint.size());
  }

  @Benchmark
  public void verifyInclusionProof() throws Exception {
    ProofVerifier.verifyInclusion(sampleProof.index(), sampleProof.treeSize(), sampleLeaf, sampleProof.hashes(),
        checkpoint.rootHash());
  }
}
