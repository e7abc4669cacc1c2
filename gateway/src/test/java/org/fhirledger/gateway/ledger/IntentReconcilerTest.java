package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.context.FhirContext;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.Function;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.fhirledger.gateway.upstream.UpstreamUnavailableException;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerEntry;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.EntryType;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonymizer;
import org.fhirledger.ledger.jdbc.JdbcLedgerStorage;
import org.fhirledger.ledger.jdbc.JdbcPatientSecretStore;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reconciler against a real H2 ledger; the EHR is a stand-in for the gateway's own {@link UpstreamFhirClient}
 * port, answering as a HAPI server would. (The black-box crash test uses a real EHR.)
 */
class IntentReconcilerTest {

  private static final FhirContext FHIR = FhirContext.forR4Cached();
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
  private static final String ORIGIN = "reconcile.test/ledger";

  @TempDir Path dir;
  private Ledger ledger;
  private Pseudonymizer pseudonymizer;
  private WatermarkFile watermark;
  private final List<String> asked = new ArrayList<>();

  @BeforeEach
  void open() throws Exception {
    ledger = Ledgers.openH2(dir, ORIGIN, LedgerOptions.defaults().withClock(CLOCK));
    pseudonymizer = new Pseudonymizer(JdbcPatientSecretStore.open(JdbcLedgerStorage.h2(dir), CLOCK, new SecureRandom()));
    watermark = new WatermarkFile(dir, ORIGIN);
  }

  @AfterEach
  void close() {
    ledger.close();
  }

  @Test
  void reconcile_intentBelowStoredWatermark_notScannedAgain() throws Exception {
    append(intent(Interaction.UPDATE, "Patient", "1", "r1"));
    watermark.write(1);
    append(intent(Interaction.DELETE, "Patient", "2", "r2"));

    long w = reconciler(r -> response(410, "")).reconcile(watermark);

    assertEquals(List.of("GET /Patient/2"), asked, "only the intent at or above the watermark is read");
    assertEquals(3, w);
    assertEquals(OptionalLong.of(3), watermark.read());
    EntryRecord outcome = entry(2);
    assertEquals(1L, outcome.intentIndex());
    assertEquals(Interaction.RECONCILE, outcome.interaction());
    assertEquals(Outcome.FAILED, outcome.outcome());
    assertEquals(410, outcome.httpStatus());
  }

  @Test
  void reconcile_intentWithOutcome_leftAlone() throws Exception {
    append(intent(Interaction.UPDATE, "Patient", "1", "r1"));
    append(EntryRecord.builder().time(CLOCK.instant()).origin(ORIGIN).interaction(Interaction.UPDATE)
        .actor(InteractionRecorder.ANONYMOUS).requestId("r1").outcome(Outcome.SUCCESS, 200).outcomeOfIntent(0).build());

    long w = reconciler(r -> response(500, "")).reconcile(watermark);

    assertEquals(List.of(), asked);
    assertEquals(2, w);
  }

  @Test
  void reconcile_updatedResourceThere_successWithDigestVersionAndPseudonym() throws Exception {
    append(intent(Interaction.UPDATE, "Patient", "7", "r7"));
    Patient stored = new Patient();
    stored.setId("Patient/7/_history/3");
    stored.getMeta().setVersionId("3").setSource("#r7");
    stored.addName().setFamily("Synthetic");
    String json = FHIR.newJsonParser().encodeResourceToString(stored);

    reconciler(r -> response(200, json)).reconcile(watermark);

    EntryRecord outcome = entry(1);
    assertEquals(Outcome.SUCCESS, outcome.outcome());
    assertEquals(200, outcome.httpStatus());
    assertNull(outcome.resourceId(), "a patient is named by its pseudonym, never its id");
    assertNull(outcome.resourceVersion());
    assertArrayEquals(FhirContent.sha256(FHIR.newJsonParser().setPrettyPrint(false)
        .encodeResourceToString(FHIR.newJsonParser().parseResource(json)).getBytes(StandardCharsets.UTF_8)),
        outcome.contentSha256());
    assertEquals(List.of(pseudonymizer.pseudonymFor("Patient/7")), outcome.patients());
  }

  @Test
  void reconcile_createOnEhrThatIgnoresSource_recordedAsNotEstablished() throws Exception {
    append(intent(Interaction.CREATE, "Patient", null, "r9"));
    Patient other = new Patient();
    other.setId("Patient/5");
    other.getMeta().setSource("#someone-else");
    Bundle everything = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    everything.addEntry().setResource(other);
    String json = FHIR.newJsonParser().encodeResourceToString(everything);

    reconciler(r -> response(200, json)).reconcile(watermark);

    assertTrue(asked.get(0).startsWith("GET /Patient?_source=%23r9"), asked.get(0));
    EntryRecord outcome = entry(1);
    assertEquals(Outcome.FAILED, outcome.outcome());
    assertNull(outcome.httpStatus(), "no status: what happened could not be established");
  }

  @Test
  void reconcile_createFoundBySource_successWithTheCreatedResource() throws Exception {
    append(intent(Interaction.CREATE, "Patient", null, "r12"));
    String json = FHIR.newJsonParser().encodeResourceToString(searchset(sourced("12", "#r12", CLOCK.instant())));

    reconciler(r -> response(200, json)).reconcile(watermark);

    assertEquals(Outcome.SUCCESS, entry(1).outcome());
    assertEquals(List.of(pseudonymizer.pseudonymFor("Patient/12")), entry(1).patients(),
        "the created patient, found by its request id, is named by its pseudonym");
  }

  @Test
  void reconcile_createMatchStoredLongBeforeTheIntent_recordedAsNotEstablished() throws Exception {
    append(intent(Interaction.CREATE, "Patient", null, "reused"));
    String json = FHIR.newJsonParser().encodeResourceToString(
        searchset(sourced("13", "#reused", CLOCK.instant().minus(java.time.Duration.ofDays(1)))));

    reconciler(r -> response(200, json)).reconcile(watermark);

    assertEquals(Outcome.FAILED, entry(1).outcome());
    assertNull(entry(1).httpStatus());
  }

  private static Patient sourced(String id, String source, Instant lastUpdated) {
    Patient p = new Patient();
    p.setId("Patient/" + id);
    p.getMeta().setVersionId("1").setSource(source).setLastUpdated(java.util.Date.from(lastUpdated));
    return p;
  }

  private static Bundle searchset(Patient p) {
    Bundle b = new Bundle().setType(Bundle.BundleType.SEARCHSET);
    b.addEntry().setResource(p);
    return b;
  }

  @Test
  void reconcile_createNotFound_recordedAs404() throws Exception {
    append(intent(Interaction.CREATE, "Patient", null, "r10"));
    String empty = FHIR.newJsonParser().encodeResourceToString(new Bundle().setType(Bundle.BundleType.SEARCHSET));

    reconciler(r -> response(200, empty)).reconcile(watermark);

    assertEquals(404, entry(1).httpStatus());
  }

  @Test
  void reconcile_transaction_recordedAsNotEstablishedWithoutAskingTheEhr() throws Exception {
    append(intent(Interaction.TRANSACTION, null, null, "r11"));

    reconciler(r -> response(500, "")).reconcile(watermark);

    assertEquals(List.of(), asked);
    assertEquals(Outcome.FAILED, entry(1).outcome());
    assertNull(entry(1).httpStatus());
  }

  @Test
  void reconcile_ehrUnreachable_failsAndRecordsNothing() throws Exception {
    append(intent(Interaction.UPDATE, "Patient", "1", "r1"));

    assertThrows(IntentReconciler.ReconciliationException.class, () -> reconciler(r -> {
      throw new UpstreamUnavailableException("refused", null);
    }).reconcile(watermark));

    assertEquals(1, ledger.latestCheckpoint().size());
    assertEquals(OptionalLong.empty(), watermark.read());
  }

  @Test
  void reconcile_watermarkBeyondTheLog_scansTheWholeLog() throws Exception {
    append(intent(Interaction.DELETE, "Patient", "1", "r1"));
    watermark.write(99);

    reconciler(r -> response(404, "")).reconcile(watermark);

    assertEquals(List.of("GET /Patient/1"), asked);
    assertEquals(EntryType.OUTCOME, entry(1).type());
  }

  private IntentReconciler reconciler(Function<UpstreamRequest, UpstreamResponse> ehr) {
    UpstreamFhirClient upstream = new UpstreamFhirClient() {
      @Override
      public UpstreamResponse exchange(UpstreamRequest request) {
        asked.add(request.method() + " " + request.pathAndQuery());
        return ehr.apply(request);
      }

      @Override
      public URI baseUrl() {
        return URI.create("http://ehr.invalid/fhir");
      }

      @Override
      public void close() {}
    };
    return new IntentReconciler(ledger, pseudonymizer, new FhirContent(FHIR), upstream, ORIGIN, CLOCK);
  }

  private static UpstreamResponse response(int status, String body) {
    return new UpstreamResponse(status, Map.of("content-type", List.of("application/fhir+json")),
        body.getBytes(StandardCharsets.UTF_8));
  }

  private static EntryRecord intent(Interaction interaction, String type, String id, String requestId) {
    return EntryRecord.builder().type(EntryType.INTENT).time(CLOCK.instant()).origin(ORIGIN).interaction(interaction)
        .resource(type, id, null).actor(InteractionRecorder.ANONYMOUS).requestId(requestId).build();
  }

  private void append(EntryRecord record) throws Exception {
    ledger.append(EntryCodec.encode(record));
  }

  private EntryRecord entry(long index) throws Exception {
    List<LedgerEntry> e = ledger.entries(index, index + 1);
    return EntryCodec.decode(e.get(0).data());
  }
}
