package org.fhirledger.gateway.provenance;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.fhirledger.gateway.ledger.RecordedWrite;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.fhirledger.gateway.upstream.UpstreamUnavailableException;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.profiles.GatewayProfiles;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.Provenance;
import org.junit.jupiter.api.Test;

/** What the writer sends to the EHR, with a real FhirContext and a recording EHR port. */
class ProvenanceWriterTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final byte[] LEAF = new byte[32];
  private static final Actor APP = new Actor("lab-app", null, "Organization/lab");
  private static final Actor USER = new Actor("ehr-app", "Practitioner/9", "Organization/hospital");

  @Test
  void singleCreate_postsOneProvenanceWithVersionedTargetAndReceipt() {
    Ehr ehr = new Ehr(r -> new UpstreamResponse(201, Map.of(), new byte[0]));
    ProvenanceWriter writer = new ProvenanceWriter(ehr, FHIR);

    int stored = writer.write(List.of(write(Interaction.CREATE, "Observation", "12", "1", APP, 41)), "req-1");

    assertEquals(1, stored);
    UpstreamRequest sent = ehr.requests.get(0);
    assertEquals("POST", sent.method());
    assertEquals("/Provenance", sent.pathAndQuery());
    assertEquals(List.of("req-1"), sent.headers().get("x-request-id"));
    String json = new String(sent.body(), StandardCharsets.UTF_8);
    assertTrue(json.contains("\"Observation/12/_history/1\""), "the version survives encoding: " + json);
    Provenance p = FHIR.newJsonParser().parseResource(Provenance.class, json);
    assertEquals("CREATE", p.getActivity().getCodingFirstRep().getCode());
    assertEquals("lab-app", p.getAgentFirstRep().getWho().getIdentifier().getValue());
    assertEquals("Organization/lab", p.getAgentFirstRep().getOnBehalfOf().getReference());
    Extension receipt = p.getExtensionByUrl(GatewayProfiles.LEDGER_RECEIPT);
    assertEquals("test/ledger", receipt.getExtensionByUrl("origin").getValue().primitiveValue());
    assertEquals("41", receipt.getExtensionByUrl("index").getValue().primitiveValue());
    assertEquals(1, writer.written());
  }

  @Test
  void withUser_userIsAuthorAndApplicationIsEnterer() {
    Provenance p = new ProvenanceWriter(new Ehr(r -> null), FHIR)
        .provenanceOf(write(Interaction.PATCH, "Condition", "c1", "4", USER, 3));

    assertEquals("UPDATE", p.getActivity().getCodingFirstRep().getCode());
    assertEquals(2, p.getAgent().size());
    assertEquals("author", p.getAgent().get(0).getType().getCodingFirstRep().getCode());
    assertEquals("Practitioner/9", p.getAgent().get(0).getWho().getReference());
    assertEquals("Organization/hospital", p.getAgent().get(0).getOnBehalfOf().getReference());
    assertEquals("enterer", p.getAgent().get(1).getType().getCodingFirstRep().getCode());
    assertEquals("ehr-app", p.getAgent().get(1).getWho().getIdentifier().getValue());
  }

  @Test
  void bundleWrites_oneTransactionWithoutProvenanceOfProvenance() {
    Ehr ehr = new Ehr(r -> new UpstreamResponse(200, Map.of(), new byte[0]));
    ProvenanceWriter writer = new ProvenanceWriter(ehr, FHIR);

    int stored = writer.write(List.of(
        write(Interaction.CREATE, "Patient", "p1", "1", APP, 10),
        write(Interaction.CREATE, "Provenance", "x1", "1", APP, 11),
        write(Interaction.UPDATE, "Observation", "o1", "2", APP, 12)), "req-2");

    assertEquals(2, stored);
    assertEquals(1, ehr.requests.size());
    UpstreamRequest sent = ehr.requests.get(0);
    assertEquals("/", sent.pathAndQuery());
    Bundle tx = FHIR.newJsonParser().parseResource(Bundle.class, new String(sent.body(), StandardCharsets.UTF_8));
    assertEquals(Bundle.BundleType.TRANSACTION, tx.getType());
    assertEquals(2, tx.getEntry().size());
    assertEquals("Provenance", tx.getEntry().get(0).getRequest().getUrl());
    assertTrue(new String(sent.body(), StandardCharsets.UTF_8).contains("Observation/o1/_history/2"));
  }

  @Test
  void deleteWithoutVersion_readsTheDeletionVersionFromHistory() {
    String history = """
        {"resourceType":"Bundle","type":"history","entry":[
          {"request":{"method":"DELETE","url":"Observation/7"},"response":{"status":"204","etag":"W/\\"3\\""}}]}""";
    Ehr ehr = new Ehr(r -> r.method().equals("GET")
        ? new UpstreamResponse(200, Map.of(), history.getBytes(StandardCharsets.UTF_8))
        : new UpstreamResponse(201, Map.of(), new byte[0]));

    new ProvenanceWriter(ehr, FHIR).write(List.of(write(Interaction.DELETE, "Observation", "7", null, APP, 5)), "r");

    assertEquals("/Observation/7/_history?_count=1", ehr.requests.get(0).pathAndQuery());
    String json = new String(ehr.requests.get(1).body(), StandardCharsets.UTF_8);
    assertTrue(json.contains("\"Observation/7/_history/3\""), json);
    assertTrue(json.contains("\"DELETE\""), json);
  }

  @Test
  void ehrRefusesOrIsDown_countedAsFailuresNeverThrown() {
    ProvenanceWriter refusing = new ProvenanceWriter(new Ehr(r -> new UpstreamResponse(422, Map.of(), new byte[0])), FHIR);
    ProvenanceWriter down = new ProvenanceWriter(new Ehr(r -> {
      throw new UpstreamUnavailableException("down", null);
    }), FHIR);
    List<RecordedWrite> writes = List.of(write(Interaction.CREATE, "Observation", "1", "1", APP, 0),
        write(Interaction.CREATE, "Observation", "2", "1", APP, 1));

    assertEquals(0, refusing.write(writes, "r"));
    assertEquals(0, down.write(writes, "r"));

    assertEquals(2, refusing.failures());
    assertEquals(2, down.failures());
  }

  @Test
  void receiptCarriesTheLeafHash() {
    byte[] leaf = new byte[32];
    leaf[0] = 7;
    leaf[31] = 9;
    RecordedWrite w = new RecordedWrite(Interaction.CREATE, "Observation", "1", "1", APP,
        Instant.parse("2026-11-25T10:00:00Z"), "test/ledger", 99, leaf);

    Provenance p = new ProvenanceWriter(new Ehr(r -> null), FHIR).provenanceOf(w);

    Extension receipt = p.getExtensionByUrl(GatewayProfiles.LEDGER_RECEIPT);
    assertArrayEquals(leaf, java.util.Base64.getDecoder().decode(receipt.getExtensionByUrl("leafHash").getValue().primitiveValue()));
    assertEquals(Instant.parse("2026-11-25T10:00:00Z"), p.getRecorded().toInstant());
  }

  @Test
  void concurrentWrites_queuedWhileOneIsSent_goTogetherInOneTransaction() throws Exception {
    CountDownLatch firstArrived = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    Ehr ehr = new Ehr(r -> {
      if (r.pathAndQuery().equals("/Provenance")) {
        firstArrived.countDown();
        await(releaseFirst);
      }
      return new UpstreamResponse(r.pathAndQuery().equals("/") ? 200 : 201, Map.of(), new byte[0]);
    }, false);
    ProvenanceWriter writer = new ProvenanceWriter(ehr, FHIR, 64);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      Future<Integer> first = pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", "1", "1", APP, 1)), "a"));
      assertTrue(firstArrived.await(10, TimeUnit.SECONDS));
      List<Future<Integer>> queued = new ArrayList<>();
      for (int i = 2; i <= 4; i++) {
        String id = Integer.toString(i);
        queued.add(pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", id, "1", APP, 10)), id)));
      }
      awaitQueued(writer, 3);
      releaseFirst.countDown();

      assertEquals(1, first.get(10, TimeUnit.SECONDS));
      for (Future<Integer> f : queued) {
        assertEquals(1, f.get(10, TimeUnit.SECONDS));
      }
      assertEquals(2, ehr.requests.size());
      assertEquals(2, writer.sends());
      assertEquals(4, writer.written());
      Bundle tx = FHIR.newJsonParser().parseResource(Bundle.class,
          new String(ehr.requests.get(1).body(), StandardCharsets.UTF_8));
      assertEquals(Bundle.BundleType.TRANSACTION, tx.getType());
      assertEquals(3, tx.getEntry().size());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void groupRefused_eachRequestResentOnItsOwn_onlyTheRefusedOneFails() throws Exception {
    CountDownLatch firstArrived = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    Ehr ehr = new Ehr(r -> {
      String body = new String(r.body(), StandardCharsets.UTF_8);
      if (body.contains("Observation/1/")) {
        firstArrived.countDown();
        await(releaseFirst);
      }
      // The EHR refuses any request holding the Provenance of Observation/bad.
      return new UpstreamResponse(body.contains("Observation/bad/") ? 422 : 201, Map.of(), new byte[0]);
    }, false);
    ProvenanceWriter writer = new ProvenanceWriter(ehr, FHIR, 64);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      Future<Integer> first = pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", "1", "1", APP, 1)), "a"));
      assertTrue(firstArrived.await(10, TimeUnit.SECONDS));
      Future<Integer> good1 = pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", "g1", "1", APP, 2)), "b"));
      awaitQueued(writer, 1);
      Future<Integer> bad = pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", "bad", "1", APP, 3)), "c"));
      awaitQueued(writer, 2);
      Future<Integer> good2 = pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", "g2", "1", APP, 4)), "d"));
      awaitQueued(writer, 3);
      releaseFirst.countDown();

      assertEquals(1, first.get(10, TimeUnit.SECONDS));
      assertEquals(1, good1.get(10, TimeUnit.SECONDS));
      assertEquals(0, bad.get(10, TimeUnit.SECONDS));
      assertEquals(1, good2.get(10, TimeUnit.SECONDS));
      // The first alone, the refused group of three, then each of the three again.
      assertEquals(5, ehr.requests.size());
      assertEquals(3, writer.written());
      assertEquals(1, writer.failures());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void maxBatch_limitsHowManyProvenancesOneGroupCarries() throws Exception {
    CountDownLatch firstArrived = new CountDownLatch(1);
    CountDownLatch releaseFirst = new CountDownLatch(1);
    Ehr ehr = new Ehr(r -> {
      if (new String(r.body(), StandardCharsets.UTF_8).contains("Observation/1/")) {
        firstArrived.countDown();
        await(releaseFirst);
      }
      return new UpstreamResponse(201, Map.of(), new byte[0]);
    }, false);
    ProvenanceWriter writer = new ProvenanceWriter(ehr, FHIR, 2);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<Integer>> all = new ArrayList<>();
      all.add(pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", "1", "1", APP, 1)), "a")));
      assertTrue(firstArrived.await(10, TimeUnit.SECONDS));
      for (int i = 2; i <= 4; i++) {
        String id = Integer.toString(i);
        all.add(pool.submit(() -> writer.write(List.of(write(Interaction.CREATE, "Observation", id, "1", APP, 10)), id)));
      }
      awaitQueued(writer, 3);
      releaseFirst.countDown();
      for (Future<Integer> f : all) {
        assertEquals(1, f.get(10, TimeUnit.SECONDS));
      }
      // One alone, then two, then the last one.
      assertEquals(3, ehr.requests.size());
      assertEquals(4, writer.written());
    } finally {
      pool.shutdownNow();
    }
  }

  private static void awaitQueued(ProvenanceWriter writer, int n) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (writer.queued() < n) {
      assertTrue(System.nanoTime() < deadline, "requests did not queue up");
      Thread.sleep(1);
    }
  }

  private static void await(CountDownLatch latch) {
    try {
      assertTrue(latch.await(10, TimeUnit.SECONDS));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static RecordedWrite write(Interaction i, String type, String id, String version, Actor actor, long index) {
    return new RecordedWrite(i, type, id, version, actor, Instant.parse("2026-11-25T10:00:00Z"), "test/ledger", index,
        LEAF);
  }

  /** The EHR port, answering with a function and remembering what it was sent. */
  private static final class Ehr implements UpstreamFhirClient {
    final List<UpstreamRequest> requests = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Function<UpstreamRequest, UpstreamResponse> answer;

    private final boolean serial;

    Ehr(Function<UpstreamRequest, UpstreamResponse> answer) {
      this(answer, true);
    }

    /** @param serial whether requests are answered one at a time (false: an answer may block while others come in) */
    Ehr(Function<UpstreamRequest, UpstreamResponse> answer, boolean serial) {
      this.answer = answer;
      this.serial = serial;
    }

    @Override
    public UpstreamResponse exchange(UpstreamRequest request) {
      synchronized (requests) {
        requests.add(request);
      }
      if (serial) {
        synchronized (this) {
          return answer.apply(request);
        }
      }
      return answer.apply(request);
    }

    @Override
    public URI baseUrl() {
      return URI.create("http://ehr.invalid/fhir");
    }

    @Override
    public void close() {}
  }
}
