package org.fhirledger.gateway.consent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.fhirledger.gateway.upstream.UpstreamFhirClient;
import org.fhirledger.gateway.upstream.UpstreamRequest;
import org.fhirledger.gateway.upstream.UpstreamResponse;
import org.fhirledger.ledger.Ledger;
import org.fhirledger.ledger.LedgerOptions;
import org.fhirledger.ledger.Ledgers;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.hl7.fhir.r4.model.Consent;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An instance's Consent index follows the Consent writes other instances record on a shared ledger (a real H2 ledger
 * here; the EHR is an in-memory stand-in for the upstream port, holding real Consents as JSON).
 */
class ConsentLedgerFollowerTest {

  private static final String OWN = "follow.test/instance-1";
  private static final String OTHER = "follow.test/instance-2";

  @TempDir Path dir;
  private Ledger ledger;
  private final Map<String, String> ehr = new HashMap<>();
  private final List<String> asked = new ArrayList<>();
  private ConsentIndex index;
  private ConsentLedgerFollower follower;

  @BeforeEach
  void open() throws Exception {
    ledger = Ledgers.openH2(dir, "follow.test/ledger", LedgerOptions.defaults());
    index = new ConsentIndex(ConsentFixtures.FHIR, new MapEhr(), 100);
    index.load(List.of());
    follower = ConsentLedgerFollower.start(ledger, index, OWN, Duration.ofHours(1)); // driven by hand below
  }

  @AfterEach
  void close() {
    follower.close();
    ledger.close();
  }

  @Test
  void follow_otherInstanceCreatedConsent_readBackIntoTheIndex() throws Exception {
    store(ConsentFixtures.consent("c1", "1", "Patient/p1", Consent.ConsentState.ACTIVE, ConsentFixtures.deny()));
    append(OTHER, Interaction.CREATE, Outcome.SUCCESS, "c1");

    follower.follow();

    assertEquals("1", index.versionOf("c1").orElseThrow().version());
    assertEquals(List.of("GET /Consent/c1"), asked);
    assertTrue(index.inSync());
  }

  @Test
  void follow_ownOrFailedOrOtherResourceEntries_ignored() throws Exception {
    store(ConsentFixtures.consent("c2", "1", "Patient/p2", Consent.ConsentState.ACTIVE, ConsentFixtures.deny()));
    append(OWN, Interaction.CREATE, Outcome.SUCCESS, "c2");
    append(OTHER, Interaction.UPDATE, Outcome.FAILED, "c2");

    follower.follow();

    assertTrue(asked.isEmpty(), "asked the EHR for " + asked);
    assertTrue(index.versionOf("c2").isEmpty());
  }

  @Test
  void follow_otherInstanceDeletedConsent_removedFromTheIndex() throws Exception {
    index.onConsentWritten(
        ConsentFixtures.consent("c3", "1", "Patient/p3", Consent.ConsentState.ACTIVE, ConsentFixtures.deny()), false);
    append(OTHER, Interaction.DELETE, Outcome.SUCCESS, "c3");

    follower.follow();

    assertTrue(index.versionOf("c3").isEmpty());
    assertTrue(asked.isEmpty(), "a delete needs no read-back");
  }

  private void store(Consent consent) {
    ehr.put(consent.getIdElement().getIdPart(), ConsentFixtures.FHIR.newJsonParser().encodeResourceToString(consent));
  }

  private void append(String origin, Interaction interaction, Outcome outcome, String consentId) throws Exception {
    ledger.append(EntryCodec.encode(EntryRecord.builder().time(Instant.parse("2026-11-25T12:00:00Z")).origin(origin)
        .interaction(interaction).outcome(outcome, outcome == Outcome.SUCCESS ? 200 : 500)
        .resource("Consent", consentId, "1").actor(new Actor("test-client", null, null)).requestId("r-" + consentId)
        .build()));
  }

  /** The EHR's Consent reads: {@code GET /Consent/<id>} from the map, 404 otherwise. */
  private final class MapEhr implements UpstreamFhirClient {
    @Override
    public UpstreamResponse exchange(UpstreamRequest request) {
      asked.add(request.method() + " " + request.pathAndQuery());
      String id = request.pathAndQuery().substring(request.pathAndQuery().lastIndexOf('/') + 1);
      String json = ehr.get(id);
      return json == null ? new UpstreamResponse(404, Map.of(), new byte[0])
          : new UpstreamResponse(200, Map.of("content-type", List.of("application/fhir+json")),
              json.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public URI baseUrl() {
      return URI.create("http://ehr.invalid/fhir");
    }

    @Override
    public void close() {}
  }
}
