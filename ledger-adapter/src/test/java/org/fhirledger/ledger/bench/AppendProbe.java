package org.fhirledger.ledger.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;

/**
 * A quick, non-JMH look at group commit: {@code threads} appenders for {@code seconds}; prints appends/s, the
 * number of batches (distinct checkpoints) and the mean batch size, and latency percentiles. For profiling runs
 * (JFR); the figures in the README come from JMH.
 */
public final class AppendProbe {
  private AppendProbe() {}

  public static void main(String[] args) throws Exception {
    int threads = Integer.parseInt(args[0]);
    int seconds = Integer.parseInt(args[1]);
    Path dir = Files.createTempDirectory("ledger-probe-");
    try (Ledger ledger = Ledgers.open(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()),
        NoteSigner.generate("probe.example/log", new SecureRandom()), LedgerOptions.defaults())) {
      AtomicLong n = new AtomicLong();
      ConcurrentHashMap<Long, Boolean> checkpoints = new ConcurrentHashMap<>();
      long[][] lat = new long[threads][2_000_000];
      int[] counts = new int[threads];
      long end = System.nanoTime() + seconds * 1_000_000_000L;
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        int me = t;
        ts[t] = Thread.ofPlatform().start(() -> {
          try {
            while (System.nanoTime() < end) {
              long s = System.nanoTime();
              AppendResult r = ledger.append(AppendBenchmark.entry(n.incrementAndGet()));
              long d = System.nanoTime() - s;
              if (counts[me] < lat[me].length) {
                lat[me][counts[me]++] = d;
              }
              checkpoints.put(r.checkpoint().size(), Boolean.TRUE);
            }
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
      }
      for (Thread t : ts) {
        t.join();
      }
      int total = Arrays.stream(counts).sum();
      long[] all = new long[total];
      int k = 0;
      for (int t = 0; t < threads; t++) {
        System.arraycopy(lat[t], 0, all, k, counts[t]);
        k += counts[t];
      }
      Arrays.sort(all);
      System.out.printf("threads %d: %.0f appends/s, %d batches, mean batch %.1f, p50 %.2f ms, p99 %.2f ms%n",
          threads, total / (double) seconds, checkpoints.size(), total / (double) checkpoints.size(),
          all[total / 2] / 1e6, all[(int) (total * 0.99)] / 1e6);
    }
  }
}
