package org.fhirledger.ledger.raft;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.note.NoteSigner;

/** Test helpers: free loopback ports, member configs, starting a member on an H2 log in its data dir, polling. */
final class Members {
  private Members() {}

  /** Loopback addresses on ports the OS just handed out (bound to port 0, then released for Ratis to bind). */
  static Map<String, String> peers(List<String> ids) throws IOException {
    Map<String, String> peers = new LinkedHashMap<>();
    for (String id : ids) {
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
        peers.put(id, "127.0.0.1:" + s.getLocalPort());
      }
    }
    return peers;
  }

  /** A member on loopback with mutual TLS: every member's key and certificate are kept in {@code <root>/tls}. */
  static RaftMemberConfig config(String id, Map<String, String> peers, Path root) throws IOException {
    return RaftMemberConfig.of(id, peers, root.resolve(id)).withElectionTimeout(Duration.ofMillis(800))
        .withTls(tls(id, peers.keySet(), root.resolve("tls")));
  }

  /**
   * Member {@code id}'s TLS settings pinning the certificates of {@code members}, creating keys and certificates
   * in {@code dir} that do not exist yet ({@code <id>.key}, {@code <id>.crt}).
   */
  static RaftTls tls(String id, java.util.Collection<String> members, Path dir) throws IOException {
    List<Path> certs = new java.util.ArrayList<>();
    for (String m : members) {
      RaftTls.generate(m, dir.resolve(m + ".key"), dir.resolve(m + ".crt"), Duration.ofDays(1),
          new java.security.SecureRandom());
      certs.add(dir.resolve(m + ".crt"));
    }
    return RaftTls.load(dir.resolve(id + ".key"), dir.resolve(id + ".crt"), certs);
  }

  /** A started member and the storage it owns (for auditing the member's database directly). */
  record Member(RaftLedger ledger, JdbcLedgerStorage storage) implements AutoCloseable {
    @Override
    public void close() {
      ledger.close();
    }
  }

  static Member start(RaftMemberConfig config, NoteSigner signer, int maxBatch) throws Exception {
    JdbcLedgerStorage storage = JdbcLedgerStorage.open(JdbcLedgerStorage.h2(config.dataDir().resolve("ledger")),
        Clock.systemUTC());
    return new Member(RaftLedger.open(config, storage, signer, LedgerOptions.defaults().withMaxBatchSize(maxBatch)
        .withWriterName("member " + config.memberId())), storage);
  }

  /** Polls {@code condition} every 20 ms until it holds; fails with {@code what} after {@code timeout}. */
  static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout + " waiting for " + what);
      }
      Thread.sleep(20);
    }
  }

  /** A synthetic entry: thread and sequence number, padded to {@code size} bytes. No PHI. */
  static byte[] entry(String who, int thread, long seq, int size) {
    byte[] head = ("synthetic " + who + " t" + thread + " #" + seq + " ").getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] e = new byte[Math.max(size, head.length)];
    System.arraycopy(head, 0, e, 0, head.length);
    for (int i = head.length; i < e.length; i++) {
      e[i] = (byte) ('a' + (i % 26));
    }
    return e;
  }
}
