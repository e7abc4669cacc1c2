package org.fhirledger.conformance.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.conformance.TestIssuer;
import org.fhirledger.gateway.sandbox.SandboxEhr;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Pseudonym;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.note.NoteVerifier;
import org.fhirledger.ledger.verify.HttpLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.DomainResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The acceptance test of scale-out inside one organization: two gateway instances on one PostgreSQL ledger (real
 * PostgreSQL from embedded binaries, one sandbox EHR behind both), a load of writes and reads through both; the
 * instance that holds the sequencer lease (a child JVM) is killed with SIGKILL, the other takes over, settles the
 * dead instance's unfinished writes, and every acknowledged response's {@code X-Ledger-Index} names its interaction
 * in the final log, which verifies with nothing but the log's verifier key. The killed instance restarts and both
 * serve the same checkpoint.
 *
 * <p>One kill and one restart serve every test (gateway start-ups are slow on a loaded machine).
 */
class SharedPostgresGatewayTest {

  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final Duration START_TIMEOUT = Duration.ofSeconds(300);
  private static final String LOG_ORIGIN = "shared.test/ledger";
  private static final String ORIGIN_A = "shared.test/instance-a";
  private static final String ORIGIN_B = "shared.test/instance-b";
  private static final int WRITERS_PER_INSTANCE = 2;

  /** One acknowledged interaction: a 2xx answer with its ledger index. */
  record Ack(String via, Interaction interaction, String observationId, long index, long sentNanos,
      long answeredNanos) {}

  @TempDir static Path dir;
  private static EmbeddedPostgres postgres;
  private static SandboxEhr ehr;
  private static GatewayChild a;
  private static RunningGateway b;
  private static String vkey;
  private static String patientId;
  private static final ConcurrentLinkedQueue<Ack> acks = new ConcurrentLinkedQueue<>();
  private static volatile long killNanos;
  private static List<EntryRecord> ledger;
  private static Checkpoint checkpoint;

  @BeforeAll
  static void loadKillAndRestart() throws Exception {
    postgres = EmbeddedPostgres.builder().setServerConfig("synchronous_commit", "on").start();
    try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE shared_ledger");
    }
    Path keyFile = dir.resolve("log-signer.key");
    vkey = NoteSigner.loadOrGenerate(keyFile, LOG_ORIGIN, new SecureRandom()).verifier().vkey();
    ehr = SandboxEhr.start(dir.resolve("ehr"));

    CompletableFuture<GatewayChild> childA = CompletableFuture.supplyAsync(() -> startA(keyFile, "first"));
    b = RunningGateway.start(Files.createDirectories(dir.resolve("b")), sharedProperties(keyFile, ORIGIN_B));
    a = childA.join();

    HttpResponse<String> patient = send(root(b), "POST", "/fhir/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Sharedledger\",\"given\":[\"Synthetic\"]}]}");
    assertEquals(201, patient.statusCode(), patient.body());
    patientId = patient.headers().firstValue("Location").orElseThrow().split("/")[5];

    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger bWritesAfterKill = new AtomicInteger();
    List<Thread> load = new ArrayList<>();
    for (int t = 0; t < WRITERS_PER_INSTANCE; t++) {
      load.add(Thread.ofPlatform().name("load-a-" + t).start(() -> writeAndRead("a", a.root(), stop, null)));
      load.add(Thread.ofPlatform().name("load-b-" + t).start(() -> writeAndRead("b", root(b), stop,
          bWritesAfterKill)));
    }

    // Kill A while it holds the sequencer lease, after it has acknowledged some writes of its own.
    Instant deadline = Instant.now().plusSeconds(180);
    while (!(count("a") >= 10 && leaseHolder().equals(Optional.of(applicationName(ORIGIN_A))))) {
      assertTrue(Instant.now().isBefore(deadline), "instance A never held the lease with 10 writes acknowledged");
      Thread.sleep(5); // polling interval, not synchronisation: the condition is re-checked
    }
    killNanos = System.nanoTime();
    a.kill();

    deadline = Instant.now().plusSeconds(120);
    while (bWritesAfterKill.get() < 20) {
      assertTrue(Instant.now().isBefore(deadline), "instance B did not go on writing after A was killed");
      Thread.sleep(20); // polling interval
    }
    stop.set(true);
    for (Thread t : load) {
      t.join(Duration.ofSeconds(120));
    }

    // B settles the intents A died with (its orphan check runs every second here).
    deadline = Instant.now().plusSeconds(120);
    while (!openIntents(readLog(root(b))).isEmpty()) {
      assertTrue(Instant.now().isBefore(deadline), "A's unfinished writes were not settled by B: "
          + openIntents(ledger));
      Thread.sleep(200); // polling interval
    }

    a = startA(keyFile, "second");
    checkpoint = new LogVerifier(NoteVerifier.parse(vkey)).verifyLog(
        new HttpLogSource(URI.create(a.root() + "/ledger/"), HTTP, Duration.ofSeconds(30)));
    ledger = readLog(a.root());
    System.out.printf("shared-postgres takeover: A killed while holding the lease; B's first write acknowledged "
        + "%d ms after the kill; slowest B write across the kill %d ms; %d acknowledged interactions, log size %d%n",
        firstBWriteAfterKillMillis(), slowestBWriteAcrossKillMillis(), acks.size(), checkpoint.size());
  }

  @AfterAll
  static void stop() throws Exception {
    if (a != null) {
      a.close();
    }
    if (b != null) {
      b.close();
    }
    if (ehr != null) {
      ehr.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  @Test
  void killSequencer_underLoad_otherInstanceTakesOverWithinSeconds() {
    long takeover = firstBWriteAfterKillMillis();
    assertTrue(takeover >= 0 && takeover < 15_000, "B's first write after the kill took " + takeover + " ms");
  }

  @Test
  void killSequencer_underLoad_everyAcknowledgedInteractionIsInTheFinalLog() {
    assertTrue(acks.stream().anyMatch(x -> x.via().equals("a")) && acks.stream().anyMatch(x -> x.via().equals("b")));
    for (Ack ack : acks) {
      assertTrue(ack.index() < ledger.size(), "acknowledged index " + ack.index() + " beyond the log");
      EntryRecord entry = ledger.get((int) ack.index());
      assertEquals(ack.interaction(), entry.interaction(), "entry " + ack.index());
      assertEquals("Observation", entry.resourceType(), "entry " + ack.index());
      assertEquals(ack.observationId(), entry.resourceId(), "entry " + ack.index());
      assertEquals(ack.via().equals("a") ? ORIGIN_A : ORIGIN_B, entry.origin(), "entry " + ack.index());
    }
    assertEquals(acks.size(), acks.stream().map(Ack::index).distinct().count(), "one entry per acknowledgement");
  }

  @Test
  void killSequencer_afterSettling_everyIntentHasExactlyOneOutcome() {
    Map<Long, Long> outcomes = ledger.stream().filter(r -> r.type() == EntryType.OUTCOME)
        .collect(Collectors.groupingBy(EntryRecord::intentIndex, Collectors.counting()));
    for (int i = 0; i < ledger.size(); i++) {
      if (ledger.get(i).type() == EntryType.INTENT) {
        assertEquals(1L, outcomes.getOrDefault((long) i, 0L), "outcomes of the intent at " + i);
      }
    }
  }

  @Test
  void restartKilledInstance_bothInstancesServeTheSameVerifiedCheckpoint() throws Exception {
    HttpResponse<String> servedVkey = HTTP.send(HttpRequest.newBuilder(URI.create(a.root() + "/ledger/vkey"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(vkey, servedVkey.body().trim());

    String fromA = checkpointText(a.root());
    String fromB = checkpointText(root(b));

    assertEquals(fromA, fromB);
    Checkpoint viaB = new LogVerifier(NoteVerifier.parse(vkey)).verifyLog(
        new HttpLogSource(URI.create(root(b) + "/ledger/"), HTTP, Duration.ofSeconds(30)));
    assertTrue(viaB.size() >= checkpoint.size());
  }

  @Test
  void writesThroughBothInstances_patientHasOnePseudonym() {
    Set<Pseudonym> pseudonyms = ledger.stream()
        .filter(r -> r.type() == EntryType.OUTCOME && r.interaction() == Interaction.CREATE
            && "Observation".equals(r.resourceType()))
        .flatMap(r -> r.patients().stream()).collect(Collectors.toSet());
    Set<String> writers = ledger.stream()
        .filter(r -> r.type() == EntryType.OUTCOME && r.interaction() == Interaction.CREATE
            && "Observation".equals(r.resourceType()))
        .map(EntryRecord::origin).collect(Collectors.toSet());

    assertEquals(Set.of(ORIGIN_A, ORIGIN_B), writers);
    assertEquals(1, pseudonyms.size(), "the patient's pseudonym through both instances: " + pseudonyms);
  }

  @Test
  void auditSearch_throughOneInstance_findsTheEntriesOfBoth() throws Exception {
    for (String root : List.of(a.root(), root(b))) {
      HttpResponse<String> r = send(root, "GET", "/fhir/AuditEvent?patient=Patient/" + patientId + "&_count=1000",
          null);
      assertEquals(200, r.statusCode(), r.body());
      Bundle bundle = FhirContext.forR4Cached().newJsonParser().parseResource(Bundle.class, r.body());

      Set<String> recordedBy = bundle.getEntry().stream()
          .map(e -> ((DomainResource) e.getResource()).getExtensionByUrl(GatewayProfiles.LEDGER_ENTRY).getExtensionByUrl("origin")
              .getValue().primitiveValue())
          .collect(Collectors.toSet());
      assertTrue(recordedBy.containsAll(Set.of(ORIGIN_A, ORIGIN_B)), root + " sees entries of " + recordedBy);
    }
  }

  /** Creates an Observation of the patient and reads it back, until stopped or the instance is gone. */
  private static void writeAndRead(String via, String root, AtomicBoolean stop, AtomicInteger writesAfterKill) {
    int n = 0;
    while (!stop.get()) {
      try {
        long sent = System.nanoTime();
        HttpResponse<String> created = send(root, "POST", "/fhir/Observation", observationJson(via + "-" + n++));
        long answered = System.nanoTime();
        if (created.statusCode() != 201) {
          continue; // not acknowledged (e.g. 503 while no sequencer could be reached): no claim to check
        }
        String id = created.headers().firstValue("Location").orElseThrow().split("/")[5];
        acks.add(new Ack(via, Interaction.CREATE, id, ledgerIndex(created), sent, answered));
        if (writesAfterKill != null && killNanos != 0 && sent > killNanos) {
          writesAfterKill.incrementAndGet();
        }
        sent = System.nanoTime();
        HttpResponse<String> read = send(root, "GET", "/fhir/Observation/" + id, null);
        if (read.statusCode() == 200) {
          acks.add(new Ack(via, Interaction.READ, id, ledgerIndex(read), sent, System.nanoTime()));
        }
      } catch (java.io.IOException e) {
        if (via.equals("a") && killNanos != 0) {
          return; // instance A was killed
        }
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private static long ledgerIndex(HttpResponse<String> response) {
    return Long.parseLong(response.headers().firstValue("X-Ledger-Index").orElseThrow());
  }

  private static long count(String via) {
    return acks.stream().filter(x -> x.via().equals(via)).count();
  }

  private static long firstBWriteAfterKillMillis() {
    return acks.stream().filter(x -> x.via().equals("b") && x.interaction() == Interaction.CREATE
            && x.answeredNanos() > killNanos)
        .mapToLong(x -> (x.answeredNanos() - killNanos) / 1_000_000).min().orElse(-1);
  }

  private static long slowestBWriteAcrossKillMillis() {
    return acks.stream().filter(x -> x.via().equals("b") && x.interaction() == Interaction.CREATE
            && x.sentNanos() <= killNanos && x.answeredNanos() > killNanos)
        .mapToLong(x -> (x.answeredNanos() - x.sentNanos()) / 1_000_000).max().orElse(0);
  }

  /** The application name of the instance currently holding the sequencer lease, if any. */
  private static Optional<String> leaseHolder() throws Exception {
    byte[] h = sha256("fhir-ledger-sequencer:" + LOG_ORIGIN);
    long key = (((h[0] & 0xFFL) << 24) | ((h[1] & 0xFFL) << 16) | ((h[2] & 0xFFL) << 8) | (h[3] & 0xFFL));
    try (Connection c = postgres.getDatabase("postgres", "shared_ledger").getConnection();
        PreparedStatement ps = c.prepareStatement("SELECT a.application_name FROM pg_locks l "
            + "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
            + "AND l.classid = ? AND l.objid = ? AND l.objsubid = 2")) {
      ps.setLong(1, 0x4C454447L);
      ps.setLong(2, key);
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(rs.getString(1)) : Optional.empty();
      }
    }
  }

  /** As the gateway names an instance's PostgreSQL sessions: {@code gw-} and 16 hex digits of SHA-256(origin). */
  private static String applicationName(String origin) {
    return "gw-" + HexFormat.of().formatHex(sha256(origin), 0, 8);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<EntryRecord> readLog(String root) throws Exception {
    LedgerOverHttp overHttp = new LedgerOverHttp(HTTP, root);
    List<EntryRecord> out = new ArrayList<>();
    for (byte[] entry : overHttp.entries(overHttp.verifyLog())) {
      out.add(EntryCodec.decode(entry));
    }
    ledger = out;
    return out;
  }

  private static List<Long> openIntents(List<EntryRecord> log) {
    Map<Long, Boolean> open = new HashMap<>();
    for (int i = 0; i < log.size(); i++) {
      EntryRecord r = log.get(i);
      if (r.type() == EntryType.INTENT) {
        open.put((long) i, true);
      } else if (r.type() == EntryType.OUTCOME) {
        open.remove(r.intentIndex());
      }
    }
    return open.keySet().stream().sorted().toList();
  }

  private static String checkpointText(String root) throws Exception {
    HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(root + "/ledger/checkpoint"))
        .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    assertEquals(200, r.statusCode());
    assertNotNull(r.body());
    return r.body();
  }

  private static String root(RunningGateway gateway) {
    return gateway.baseUrl().substring(0, gateway.baseUrl().length() - "/fhir".length());
  }

  private static String[] sharedProperties(Path keyFile, String origin) {
    return new String[] {
        "gateway.ledger.mode=shared-postgres",
        "gateway.ledger.origin=" + origin,
        "gateway.ledger.shared-postgres.jdbc-url=" + postgres.getJdbcUrl("postgres", "shared_ledger"),
        "gateway.ledger.shared-postgres.key-file=" + keyFile,
        "gateway.ledger.shared-postgres.orphan-check-interval=1s",
        "gateway.upstream.base-url=" + ehr.baseUrl()};
  }

  private static GatewayChild startA(Path keyFile, String run) {
    try {
      Path logs = Files.createDirectories(Path.of("target", "gateway-child-logs"));
      List<String> args = new ArrayList<>(List.of("--server.port=0",
          "--gateway.data-dir=" + Files.createDirectories(dir.resolve("a")),
          "--gateway.security.issuer=" + TestIssuer.shared().issuer(),
          "--gateway.security.audience=" + TestIssuer.SUITE_AUDIENCE));
      for (String p : sharedProperties(keyFile, ORIGIN_A)) {
        args.add("--" + p);
      }
      return GatewayChild.start(logs.resolve(SharedPostgresGatewayTest.class.getSimpleName() + "-a-" + run + ".log"),
          START_TIMEOUT, args.toArray(String[]::new));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static HttpResponse<String> send(String root, String method, String path, String json)
      throws java.io.IOException, InterruptedException {
    HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(root + path)).timeout(Duration.ofSeconds(120))
        .header("Authorization", "Bearer " + TestIssuer.suiteToken()).header("Accept", "application/fhir+json");
    if (json == null) {
      r.GET();
    } else {
      r.header("Content-Type", "application/fhir+json").method(method, HttpRequest.BodyPublishers.ofString(json));
    }
    return HTTP.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String observationJson(String value) {
    return "{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":\"shared ledger test\"},"
        + "\"subject\":{\"reference\":\"Patient/" + patientId + "\"},\"valueString\":\"" + value + "\"}";
  }
}
