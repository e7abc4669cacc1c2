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

  private static RecordedWrite write(Interaction i, String type, String id, String version, Actor actor, long index) {
    return new RecordedWrite(i, type, id, version, actor, Instant.parse("2026-11-25T10:00:00Z"), "test/ledger", index,
        LEAF);
  }

  /** The EHR port, answering with a function and remembering what it was sent. */
  private static final class Ehr implements UpstreamFhirClient {
    final List<UpstreamRequest> requests = new ArrayList<>();
    private final Function<UpstreamRequest, UpstreamResponse> answer;

    Ehr(Function<UpstreamRequest, UpstreamResponse> answer) {
      this.answer = answer;
    }

    @Override
    public synchronized UpstreamResponse exchange(UpstreamRequest request) {
      requests.add(request);
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
