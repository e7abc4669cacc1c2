package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.EntryCodec;
import org.fhirledger.ledger.entry.EntryRecord;
import org.fhirledger.ledger.entry.Interaction;
import org.fhirledger.ledger.entry.Outcome;
import org.fhirledger.ledger.entry.Pseudonym;
import org.junit.jupiter.api.Test;

/** An interaction disclosing more patients than one 64 KiB entry holds is recorded in several entries. */
class EntryFittingTest {

  @Test
  void fewPatients_oneEntryUnchanged() {
    EntryRecord r = search(300);

    assertEquals(List.of(r), InteractionRecorder.fitted(List.of(r)));
  }

  @Test
  void fiveThousandPatients_splitIntoEntriesThatEncodeAndNameEachPatientOnceInOrder() {
    EntryRecord r = search(5000);

    List<EntryRecord> pieces = InteractionRecorder.fitted(List.of(r));

    assertEquals(3, pieces.size(), "2047 pseudonyms at most per entry");
    List<Pseudonym> named = new ArrayList<>();
    for (EntryRecord piece : pieces) {
      assertTrue(EntryCodec.encode(piece).length <= 0xFFFF);
      assertEquals(r.requestId(), piece.requestId());
      assertEquals(r.interaction(), piece.interaction());
      assertEquals(r.withPatients(List.of()), piece.withPatients(List.of()), "same facts but the patients");
      named.addAll(piece.patients());
    }
    assertEquals(r.patients(), named);
  }

  private static EntryRecord search(int patients) {
    List<Pseudonym> ps = new ArrayList<>();
    for (int i = 0; i < patients; i++) {
      byte[] v = new byte[32];
      ByteBuffer.wrap(v).putInt(i);
      ps.add(new Pseudonym(v));
    }
    return EntryRecord.builder().time(Instant.parse("2026-11-25T10:00:00Z")).origin("test/ledger")
        .interaction(Interaction.SEARCH).outcome(Outcome.SUCCESS, 200).resource("Patient", null, null)
        .contentSha256(new byte[32]).actor(new Actor("app", "Practitioner/1", "Organization/1"))
        .requestId("req-1").patients(ps).build();
  }
}
