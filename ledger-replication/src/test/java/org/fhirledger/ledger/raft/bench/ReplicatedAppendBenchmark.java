package org.fhirledger.ledger.raft.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.raft.RaftLedger;
import org.fhirledger.ledger.raft.RaftMemberConfig;
import org.fhirledger.ledger.raft.RaftTls;

/**
 * Replicated appends/s and latency: three Raft members (each with its own H2 log in a temporary directory) in this
 * JVM on loopback; {@code -c} appends in flight at a time, spread round-robin over the three members (every
 * organization appends its own interactions), each acknowledged only once committed by a majority and applied by
 * the member it was sent to. Prints throughput and latency percentiles per measured second and overall.
 *
 * <p>{@code ReplicatedAppendBenchmark [-c concurrency=256] [-s seconds=20] [-w warmup=5] [-b entryBytes=300]
 * [-m maxBatch=1024] [-f batchesInFlightPerMember=1]}. Run with {@code ./mvnw -Pbench -pl ledger-replication -am verify -DskipTests
 * -Dbench.args="-c 256 -s 20"}.
 */
public final class ReplicatedAppendBenchmark {
  private ReplicatedAppendBenchmark() {}

  public static void main(String[] args) throws Exception {
    int concurrency = 256;
    int seconds = 20;
    int warmup = 5;
    int bytes = 300;
    int maxBatch = 1024;
    int proposals = 1;
    boolean plaintext = false;
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "-c" -> concurrency = Integer.parseInt(args[++i]);
        case "-s" -> seconds = Integer.parseInt(args[++i]);
        case "-w" -> warmup = Integer.parseInt(args[++i]);
        case "-b" -> bytes = Integer.parseInt(args[++i]);
        case "-m" -> maxBatch = Integer.parseInt(args[++i]);
        case "-f" -> proposals = Integer.parseInt(args[++i]);
        case "--plaintext" -> plaintext = true;
        default -> throw new IllegalArgumentException("unknown argument " + args[i]);
      }
    }
    Path root = Files.createTempDirectory("raft-bench");
    NoteSigner group = NoteSigner.generate("bench.example/ledger", new SecureRandom());
    Map<String, String> peers = new java.util.LinkedHashMap<>();
    for (String id : List.of("a", "b", "c")) {
      try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
        peers.put(id, "127.0.0.1:" + s.getLocalPort());
      }
    }
    // mutual TLS between the members, as a deployment runs them (--plaintext to compare)
    Map<String, RaftTls> tls = new java.util.HashMap<>();
    for (String id : peers.keySet()) {
      RaftTls.generate(id, root.resolve(id + ".key"), root.resolve(id + ".crt"), Duration.ofDays(1),
          new SecureRandom());
    }
    for (String id : peers.keySet()) {
      tls.put(id, RaftTls.load(root.resolve(id + ".key"), root.resolve(id + ".crt"),
          peers.keySet().stream().map(m -> root.resolve(m + ".crt")).toList()));
    }
    List<RaftLedger> members = new ArrayList<>();
    for (String id : peers.keySet()) {
      RaftMemberConfig config = RaftMemberConfig.of(id, peers, root.resolve(id)).withMaxInFlight(proposals)
          .withTls(plaintext ? null : tls.get(id));
      members.add(RaftLedger.open(config, JdbcLedgerStorage.open(JdbcLedgerStorage.h2(root.resolve(id)
          .resolve("ledger")), Clock.systemUTC()), group, LedgerOptions.defaults().withMaxBatchSize(maxBatch)));
    }
    while (members.stream().noneMatch(RaftLedger::isLeader)) {
      Thread.sleep(50);
    }
    System.out.printf("3 members over %s, concurrency %d, entries of %d bytes, max batch %d, batches in flight per member %d,"
        + " %d cores, load %s%n", plaintext ? "plaintext" : "mutual TLS", concurrency, bytes, maxBatch, proposals, Runtime.getRuntime().availableProcessors(), load());
    byte[] payload = new byte[bytes];
    Arrays.fill(payload, (byte) 'x');
    Semaphore inFlight = new Semaphore(concurrency);
    AtomicLong acked = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    // latency histogram in 10 µs buckets up to 10 s
    AtomicLongArray histogram = new AtomicLongArray(1_000_001);
    long warmupEnd = System.nanoTime() + Duration.ofSeconds(warmup).toNanos();
    long end = warmupEnd + Duration.ofSeconds(seconds).toNanos();
    long startAcked = -1;
    long next = 0;
    long lastReport = System.nanoTime();
    long lastAcked = 0;
    while (System.nanoTime() < end) {
      inFlight.acquire();
      byte[] e = payload.clone();
      long n = next++;
      for (int i = 0; i < 8; i++) {
        e[i] = (byte) (n >>> (8 * i));
      }
      long t0 = System.nanoTime();
      boolean measured = t0 >= warmupEnd;
      members.get((int) (n % 3)).appendAsync(e).whenComplete((r, err) -> {
        inFlight.release();
        if (err != null) {
          failed.incrementAndGet();
          return;
        }
        acked.incrementAndGet();
        if (measured) {
          histogram.incrementAndGet((int) Math.min(1_000_000, (System.nanoTime() - t0) / 10_000));
        }
      });
      long now = System.nanoTime();
      if (startAcked < 0 && now >= warmupEnd) {
        startAcked = acked.get();
      }
      if (now - lastReport >= 1_000_000_000L) {
        long a = acked.get();
        System.out.printf("%s %,d appends/s%n", now >= warmupEnd ? "measure" : "warmup ", (a - lastAcked));
        lastAcked = a;
        lastReport = now;
      }
    }
    long total = acked.get() - Math.max(0, startAcked);
    inFlight.acquire(concurrency);
    System.out.printf("RESULT %,d appends/s over %d s (failed %d); latency p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms,"
        + " max %.2f ms; tree size %,d; load %s%n", total / seconds, seconds, failed.get(), pct(histogram, 0.50),
        pct(histogram, 0.99), pct(histogram, 0.999), pct(histogram, 1.0),
        members.get(0).latestCheckpoint().size(), load());
    members.forEach(RaftLedger::close);
  }

  private static double pct(AtomicLongArray h, double q) {
    long n = 0;
    for (int i = 0; i < h.length(); i++) {
      n += h.get(i);
    }
    long target = (long) Math.ceil(q * n);
    long seen = 0;
    for (int i = 0; i < h.length(); i++) {
      seen += h.get(i);
      if (seen >= target && h.get(i) > 0) {
        return (i + 1) / 100.0;
      }
    }
    return 0;
  }

  private static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
    } catch (java.io.IOException e) {
      return "?";
    }
  }
}
