package org.fhirledger.ledger.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.verify.JdbcLogSource;
import org.fhirledger.ledger.verify.LogVerifier;

/**
 * Separates what the code costs from what a loaded machine adds: for inclusion proofs at {@code size} entries and
 * a full audit, prints wall-clock and on-CPU (thread CPU time) figures side by side.
 */
public final class ReadProbe {
  private ReadProbe() {}

  public static void main(String[] args) throws Exception {
    int size = Integer.parseInt(args[0]);
    int proofs = Integer.parseInt(args[1]);
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    Path dir = Files.createTempDirectory("ledger-readprobe-");
    NoteSigner signer = NoteSigner.generate("probe.example/log", new SecureRandom());
    try (Ledger ledger = Ledgers.open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()), signer,
        LedgerOptions.defaults().withMaxBatchSize(4096))) {
      long t0 = System.nanoTime();
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
      System.out.printf("built %d entries in %.1f s%n", size, (System.nanoTime() - t0) / 1e9);
      System.out.flush();
      Checkpoint cp = ledger.latestCheckpoint();
      Random r = new Random(1);
      for (int i = 0; i < proofs; i++) {
        ledger.inclusionProof(r.nextLong(cp.size()), cp.size());
      }
      long[] wall = new long[proofs];
      long[] cpu = new long[proofs];
      for (int i = 0; i < proofs; i++) {
        long c = mx.getCurrentThreadCpuTime();
        long w = System.nanoTime();
        ledger.inclusionProof(r.nextLong(cp.size()), cp.size());
        wall[i] = System.nanoTime() - w;
        cpu[i] = mx.getCurrentThreadCpuTime() - c;
      }
      Arrays.sort(wall);
      Arrays.sort(cpu);
      System.out.printf("inclusion proof at %d: wall p50 %.0f us p99 %.0f us mean %.0f us | on-CPU p50 %.0f us p99 %.0f"
          + " us mean %.0f us%n", cp.size(), wall[proofs / 2] / 1e3, wall[proofs * 99 / 100] / 1e3,
          Arrays.stream(wall).average().orElse(0) / 1e3, cpu[proofs / 2] / 1e3, cpu[proofs * 99 / 100] / 1e3,
          Arrays.stream(cpu).average().orElse(0) / 1e3);
      System.out.flush();
    }
    try (JdbcLedgerStorage storage = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC())) {
      for (int round = 0; round < 3; round++) {
        long c = mx.getCurrentThreadCpuTime();
        long w = System.nanoTime();
        Checkpoint cp = new LogVerifier(signer.verifier()).verifyLog(new JdbcLogSource(storage));
        double ws = (System.nanoTime() - w) / 1e9;
        double cs = (mx.getCurrentThreadCpuTime() - c) / 1e9;
        System.out.printf("full audit of %d entries: wall %.2f s (%.0f entries/s), on-CPU %.2f s (%.0f entries/s)%n",
            cp.size(), ws, cp.size() / ws, cs, cp.size() / cs);
      }
    }
  }
}
