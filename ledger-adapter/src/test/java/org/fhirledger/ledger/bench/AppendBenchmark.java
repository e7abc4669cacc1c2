package org.fhirledger.ledger.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerException;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Durable appends of ~300-byte entries to an H2 file ledger (the default configuration, WRITE_DELAY=0). Each
 * operation returns only once its batch is committed. Run with {@code -t 1}, {@code -t 8}, {@code -t 64}
 * (concurrent appenders); SampleTime mode gives the latency percentiles (p99).
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(1)
public class AppendBenchmark {
  private Path dir;
  private Ledger ledger;
  private final AtomicLong counter = new AtomicLong();

  @Setup(Level.Trial)
  public void open() throws IOException, LedgerException {
    dir = Files.createTempDirectory("ledger-bench-append-");
    ledger = Ledgers.open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()),
        NoteSigner.generate("bench.example/log", new SecureRandom()), LedgerOptions.defaults());
  }

  @TearDown(Level.Trial)
  public void close() {
    ledger.close();
  }

  @Benchmark
  public AppendResult append() throws Exception {
    return ledger.append(entry(counter.incrementAndGet()));
  }

  static byte[] entry(long n) {
    byte[] e = new byte[300];
    Arrays.fill(e, (byte) 'e');
    byte[] id = Long.toString(n).getBytes();
    System.arraycopy(id, 0, e, 0, id.length);
    return e;
  }
}
