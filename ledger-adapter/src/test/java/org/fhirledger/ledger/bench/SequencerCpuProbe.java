package org.fhirledger.ledger.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.util.Comparator;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Stream;
import org.fhirledger.ledger.AppendResult;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;

/**
 * CPU per append and per batch of the {@code ledger-sequencer} thread, and of the whole process, under N
 * closed-loop appenders of 300-byte entries to an H2 file ledger in a temp directory. CPU time rather than
 * throughput, because the machine is shared: on-CPU time per batch is what the sequencer costs whatever the load.
 *
 * <p>Arguments: {@code threads seconds [pauseMicros [rounds]]}. {@code pauseMicros} parks each appender between
 * its appends (default 0), to get the small batches of a gateway whose clients spend most of their time elsewhere.
 * Each round warms up for 5 s, then measures for {@code seconds}; one line per round, with the load average. The
 * sequencer's CPU is split into the storage commit ({@code commitBatch}, timed on the thread's own CPU clock) and
 * the rest (leaf hashing, the tree, the consistency check, signing, handing out results).
 */
public final class SequencerCpuProbe {
  private SequencerCpuProbe() {}

  public static void main(String[] args) throws Exception {
    int threads = Integer.parseInt(args[0]);
    int seconds = Integer.parseInt(args[1]);
    long pauseNanos = args.length > 2 ? TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args[2])) : 0;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    Path dir = Files.createTempDirectory("ledger-seq-probe-");
    TimedStorage storage = new TimedStorage(JdbcLedgerStorage.open(JdbcLedgerStorage.h2(dir), Clock.systemUTC()));
    try (Ledger ledger = Ledgers.open(storage, NoteSigner.generate("probe.example/log", new SecureRandom()),
        LedgerOptions.defaults())) {
      long sequencer = sequencerThreadId(mx);
      AtomicLong counter = new AtomicLong();
      AtomicLong appends = new AtomicLong();
      ConcurrentHashMap<Long, Boolean> checkpoints = new ConcurrentHashMap<>();
      AtomicBoolean stop = new AtomicBoolean();
      Thread[] ts = new Thread[threads];
      for (int t = 0; t < threads; t++) {
        ts[t] = Thread.ofPlatform().name("appender-" + t).start(() -> {
          try {
            while (!stop.get()) {
              AppendResult r = ledger.append(AppendBenchmark.entry(counter.incrementAndGet()));
              appends.incrementAndGet();
              checkpoints.put(r.checkpoint().size(), Boolean.TRUE);
              if (pauseNanos > 0) {
                LockSupport.parkNanos(pauseNanos);
              }
            }
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
      }
      for (int round = 0; round < rounds; round++) {
        Thread.sleep(5_000);
        long a0 = appends.get();
        checkpoints.clear();
        long commit0 = storage.commitCpuNanos();
        long seq0 = mx.getThreadCpuTime(sequencer);
        long proc0 = os.getProcessCpuTime();
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        long a1 = appends.get();
        long seq1 = mx.getThreadCpuTime(sequencer);
        long commit1 = storage.commitCpuNanos();
        long proc1 = os.getProcessCpuTime();
        long t1 = System.nanoTime();
        int batches = checkpoints.size();
        long n = a1 - a0;
        System.out.printf("threads %d pause %d us: %.0f appends/s, mean batch %.1f; sequencer CPU %.1f us/append,"
                + " %.1f us/batch (commitBatch %.1f, rest %.1f), %.0f%% of wall; process CPU %.1f us/append;"
                + " tree size %d; load %s%n",
            threads, TimeUnit.NANOSECONDS.toMicros(pauseNanos), n / ((t1 - t0) / 1e9), n / (double) batches,
            (seq1 - seq0) / 1e3 / n, (seq1 - seq0) / 1e3 / batches, (commit1 - commit0) / 1e3 / batches,
            (seq1 - seq0 - (commit1 - commit0)) / 1e3 / batches, 100.0 * (seq1 - seq0) / (t1 - t0),
            (proc1 - proc0) / 1e3 / n, counter.get(), Files.readString(Path.of("/proc/loadavg")).strip());
      }
      stop.set(true);
      for (Thread t : ts) {
        t.join();
      }
    } finally {
      // H2 keeps every chunk for 45 s (its retention time), so a run leaves gigabytes behind
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
  }

  private static long sequencerThreadId(ThreadMXBean mx) {
    for (ThreadInfo info : mx.getThreadInfo(mx.getAllThreadIds())) {
      if (info != null && info.getThreadName().equals("ledger-sequencer")) {
        return info.getThreadId();
      }
    }
    throw new IllegalStateException("no ledger-sequencer thread");
  }
}
