package org.fhirledger.conformance.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.fhirledger.conformance.RunningGateway;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.note.Checkpoints;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.raft.RaftTls;
import org.fhirledger.ledger.verify.HttpLogSource;
import org.fhirledger.ledger.verify.LogVerifier;
import org.fhirledger.ledger.witness.CosignaturePolicy;
import org.fhirledger.ledger.witness.CosignatureVerifier;
import org.fhirledger.ledger.witness.Cosigner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three organizations on one machine: three gateways, each with its own sandbox EHR, one Raft group holding one
 * shared ledger (gateway.ledger.mode=raft), and each gateway a C2SP witness of that log for the others. This is the
 * three-organization example of the README, as a test.
 */
class ThreeOrganizationsTest {
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private static final String[] ORGS = {"hospital", "clinic", "lab"};
  private static final String LOG = "shared.test.example/ledger";

  @TempDir static Path dir;
  private static final List<RunningGateway> gateways = new ArrayList<>();
  private static final List<String> roots = new ArrayList<>();
  private static final List<CosignatureVerifier> witnessKeys = new ArrayList<>();
  private static NoteSigner group;

  @BeforeAll
  static void startThreeOrganizations() throws Exception {
    group = NoteSigner.generate(LOG, new SecureRandom());
    Path groupKey = dir.resolve("group.key");
    Files.writeString(groupKey, group.skey() + "\n");
    Map<String, Integer> raftPorts = new LinkedHashMap<>();
    Map<String, Integer> httpPorts = new LinkedHashMap<>();
    for (String org : ORGS) {
      raftPorts.put(org, freePort());
      httpPorts.put(org, freePort());
      Cosigner w = Cosigner.generate(org + ".test.example/witness", new SecureRandom());
      Files.createDirectories(dir.resolve(org).resolve("ledger"));
      Files.writeString(dir.resolve(org).resolve("ledger").resolve("witness.key"), w.skey() + "\n");
      witnessKeys.add(w.verifier());
      // each member's own TLS key; the three certificates are pinned by every member
      RaftTls.generate(org, dir.resolve(org).resolve("raft-tls.key"), dir.resolve("raft-tls-" + org + ".crt"),
          Duration.ofDays(1), new SecureRandom());
    }
    String memberCerts = java.util.Arrays.stream(ORGS).map(o -> dir.resolve("raft-tls-" + o + ".crt").toString())
        .collect(java.util.stream.Collectors.joining(","));
    for (int i = 0; i < ORGS.length; i++) {
      String org = ORGS[i];
      List<String> props = new ArrayList<>(List.of(
          "server.port=" + httpPorts.get(org),
          "gateway.ledger.origin=" + org + ".test.example/gateway",
          "gateway.ledger.mode=raft",
          "gateway.ledger.raft.member-id=" + org,
          "gateway.ledger.raft.group-key-file=" + groupKey,
          "gateway.ledger.raft.election-timeout=800ms",
          "gateway.ledger.raft.tls.key-file=" + dir.resolve(org).resolve("raft-tls.key"),
          "gateway.ledger.raft.tls.cert-file=" + dir.resolve("raft-tls-" + org + ".crt"),
          "gateway.ledger.raft.tls.member-certs=" + memberCerts,
          "gateway.ledger.witness.enabled=true",
          "gateway.ledger.witness.name=" + org + ".test.example/witness",
          "gateway.ledger.witness.logs=" + group.verifier().vkey(),
          "gateway.ledger.witness.interval=300ms"));
      for (String peer : ORGS) {
        props.add("gateway.ledger.raft.peers." + peer + "=127.0.0.1:" + raftPorts.get(peer));
      }
      for (int j = 0; j < ORGS.length; j++) {
        if (j != i) {
          props.add("gateway.ledger.witness.peers." + ORGS[j] + ".url=http://127.0.0.1:" + httpPorts.get(ORGS[j])
              + "/ledger/witness");
          props.add("gateway.ledger.witness.peers." + ORGS[j] + ".vkey=" + witnessKeys.get(j).vkey());
        }
      }
      gateways.add(RunningGateway.start(dir.resolve(org), props.toArray(String[]::new)));
      roots.add("http://127.0.0.1:" + httpPorts.get(org));
    }
  }

  @AfterAll
  static void stop() {
    gateways.forEach(RunningGateway::close);
  }

  @Test
  void interactions_atTwoOrganizations_landInOneLogThatEveryGatewayServesCosignedByTwoOfThreeWitnesses()
      throws Exception {
    HttpResponse<String> created = send("POST", roots.get(0) + "/fhir/Patient",
        "{\"resourceType\":\"Patient\",\"name\":[{\"family\":\"Synthetic\"}]}");
    assertEquals(201, created.statusCode(), created.body());
    HttpResponse<String> search = send("GET", roots.get(1) + "/fhir/Observation?_count=1", null);
    assertEquals(200, search.statusCode(), search.body());
    long last = Math.max(ledgerIndex(created), ledgerIndex(search));

    CosignaturePolicy twoOfThree = new CosignaturePolicy(witnessKeys, 2);
    for (String root : roots) {
      Checkpoint cp = awaitCosigned(root, last + 1, twoOfThree);
      assertTrue(cp.size() > last);
    }
    // byte-identical log signature on every member at the same size; the shared log holds both gateways' entries
    Checkpoint a = openServed(roots.get(0));
    Checkpoint b = openServed(roots.get(2));
    if (a.size() == b.size()) {
      assertEquals(a.signedNote().substring(0, a.signedNote().indexOf("\n\n")),
          b.signedNote().substring(0, b.signedNote().indexOf("\n\n")));
    }
    EntryRecord atHospital = entry(roots.get(2), ledgerIndex(created));
    EntryRecord atClinic = entry(roots.get(2), ledgerIndex(search));
    assertEquals("hospital.test.example/gateway", atHospital.origin());
    assertEquals("clinic.test.example/gateway", atClinic.origin());
  }

  @Test
  void addCheckpoint_overHttp_answersAsTlogWitnessSpecifies() throws Exception {
    String witness = roots.get(2) + "/ledger/witness/add-checkpoint";
    send("POST", roots.get(0) + "/fhir/Patient", "{\"resourceType\":\"Patient\",\"gender\":\"unknown\"}");
    Checkpoint cp = awaitCosigned(roots.get(0), 1, new CosignaturePolicy(witnessKeys, 2));
    String bare = cp.signedNote().substring(0, cp.signedNote().indexOf("\n\n") + 2)
        + cp.signedNote().lines().filter(l -> l.startsWith("\u2014 " + LOG + " ")).findFirst().orElseThrow() + "\n";

    HttpResponse<String> stale = send("POST", witness, "old 0\n\n" + bare);
    assertEquals(409, stale.statusCode(), stale.body());
    assertEquals("text/x.tlog.size", stale.headers().firstValue("Content-Type").orElseThrow());
    long cosignedSize = Long.parseLong(stale.body().strip());
    assertTrue(cosignedSize >= 1);

    if (cosignedSize < cp.size()) {
      String badProof = "old " + cosignedSize + "\n" + java.util.Base64.getEncoder().encodeToString(new byte[32])
          + "\n\n" + bare;
      assertEquals(422, send("POST", witness, badProof).statusCode());
    }
    NoteSigner impostor = NoteSigner.generate(LOG, new SecureRandom());
    Checkpoint forged = Checkpoints.sign(impostor, cp.size(), cp.rootHash());
    assertEquals(403, send("POST", witness, "old " + cosignedSize + "\n\n" + forged.signedNote()).statusCode());
    assertEquals(400, send("POST", witness, "not a witness request").statusCode());
  }

  private static Checkpoint awaitCosigned(String root, long minSize, CosignaturePolicy policy) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    LogVerifier verifier = new LogVerifier(group.verifier());
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try {
        Checkpoint cp = verifier.verifyLog(new HttpLogSource(URI.create(root + "/ledger/"), HTTP,
            Duration.ofSeconds(10)), policy);
        if (cp.size() >= minSize) {
          return cp;
        }
      } catch (Exception e) {
        last = e;
      }
      Thread.sleep(100);
    }
    throw new AssertionError(root + " did not serve a checkpoint of size >= " + minSize + " cosigned by "
        + policy.quorum() + " witnesses within 60 s", last);
  }

  private static Checkpoint openServed(String root) throws Exception {
    return Checkpoints.open(send("GET", root + "/ledger/checkpoint", null).body(), group.verifier());
  }

  private static EntryRecord entry(String root, long index) throws Exception {
    Checkpoint cp = openServed(root);
    long tile = index / 256;
    int width = (int) Math.min(256, cp.size() - tile * 256);
    HttpResponse<byte[]> bundle = HTTP.send(HttpRequest.newBuilder(URI.create(root + "/ledger/"
        + org.fhirledger.ledger.tiles.Tiles.entriesPath(tile, width))).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, bundle.statusCode());
    List<byte[]> entries = org.fhirledger.ledger.tiles.EntryBundles.decode(bundle.body(), width, "bundle");
    return EntryCodec.decode(entries.get((int) (index % 256)));
  }

  private static long ledgerIndex(HttpResponse<?> response) {
    return Long.parseLong(response.headers().firstValue("X-Ledger-Index").orElseThrow());
  }

  private static HttpResponse<String> send(String method, String url, String body) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(60));
    if (url.contains("/fhir/")) {
      b.header("Authorization", "Bearer " + org.fhirledger.conformance.TestIssuer.suiteToken());
    }
    if (body != null) {
      b.header("Content-Type", url.contains("/fhir/") ? "application/fhir+json" : "text/plain");
    }
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody()
        : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }
}
