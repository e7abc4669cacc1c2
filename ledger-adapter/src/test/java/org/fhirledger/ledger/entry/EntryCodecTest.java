package org.fhirledger.ledger.entry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class EntryCodecTest {
  private static Pseudonym pseudonym(int b) {
    byte[] v = new byte[32];
    Arrays.fill(v, (byte) b);
    return new Pseudonym(v);
  }

  static EntryRecord full() {
    return EntryRecord.builder()
        .time(Instant.parse("2026-03-04T05:06:07.123456Z"))
        .origin("gateway.example/ledger")
        .interaction(Interaction.UPDATE)
        .outcome(Outcome.SUCCESS, 200)
        .resource("Observation", "obs-1", "3")
        .contentSha256(new byte[32])
        .actor(new Actor("lab-client", "Practitioner/7", "Organization/lab"))
        .purposeOfUse("TREAT")
        .consent(ConsentDecision.PERMIT, "Consent/42")
        .requestId("req-0001")
        .outcomeOfIntent(17)
        .patients(List.of(pseudonym(0xEE), pseudonym(0x01), pseudonym(0xEE)))
        .build();
  }

  @Test
  void encode_minimalRecord_isExactlyTheDocumentedLayout() {
    EntryRecord r = EntryRecord.builder()
        .time(Instant.ofEpochMilli(1000))
        .origin("o")
        .interaction(Interaction.READ)
        .outcome(Outcome.SUCCESS, 200)
        .actor(new Actor("c", null, null))
        .requestId("r")
        .build();
    String want = "01" + "01000101" + "020008" + "00000000000003e8" + "0300016f" + "04000101" + "05000101"
        + "06000200c8" + "0b000163" + "11000172";
    assertEquals(want, HexFormat.of().formatHex(EntryCodec.encode(r)));
  }

  @Test
  void encode_contextPatient_isTag20AfterPatientsAndRoundTrips() {
    EntryRecord r = EntryRecord.builder()
        .time(Instant.ofEpochMilli(1000))
        .origin("o")
        .interaction(Interaction.READ)
        .outcome(Outcome.DENIED, 403)
        .actor(new Actor("c", null, null))
        .requestId("r")
        .contextPatient(pseudonym(0xAB))
        .build();
    String want = "01" + "01000101" + "020008" + "00000000000003e8" + "0300016f" + "04000101" + "05000102"
        + "0600020193" + "0b000163" + "11000172" + "140020" + "ab".repeat(32);

    byte[] bytes = EntryCodec.encode(r);

    assertEquals(want, HexFormat.of().formatHex(bytes));
    assertEquals(pseudonym(0xAB), EntryCodec.decode(bytes).contextPatient());
  }

  @Test
  void decode_entryWrittenBeforeContextPatientExisted_decodesWithoutIt() {
    byte[] old = HexFormat.of().parseHex("01" + "01000101" + "020008" + "00000000000003e8" + "0300016f" + "04000101"
        + "05000101" + "06000200c8" + "0b000163" + "11000172");

    EntryRecord r = EntryCodec.decode(old);

    assertEquals(null, r.contextPatient());
    assertArrayEquals(old, EntryCodec.encode(r), "old entries re-encode to the same bytes");
  }

  @Test
  void decode_contextPatientNot32Bytes_rejected() {
    byte[] bad = HexFormat.of().parseHex("01" + "01000101" + "020008" + "00000000000003e8" + "0300016f" + "04000101"
        + "05000101" + "06000200c8" + "0b000163" + "11000172" + "140001ab");

    assertThrows(IllegalArgumentException.class, () -> EntryCodec.decode(bad));
  }

  @Test
  void encode_fullRecord_roundTripsAndIsStable() {
    EntryRecord r = full();
    byte[] bytes = EntryCodec.encode(r);
    EntryRecord back = EntryCodec.decode(bytes);
    assertEquals(r, back);
    assertArrayEquals(bytes, EntryCodec.encode(back));
    assertArrayEquals(bytes, EntryCodec.encode(full()));
    assertEquals(Instant.parse("2026-03-04T05:06:07.123Z"), back.time());
    assertEquals(List.of(pseudonym(0x01), pseudonym(0xEE)), back.patients());
    assertEquals(EntryType.OUTCOME, back.type());
    assertEquals(17L, back.intentIndex());
  }

  @Test
  void encode_differentRequestId_differentBytes() {
    EntryRecord a = full();
    EntryRecord b = EntryRecord.builder().time(a.time()).origin(a.origin()).interaction(a.interaction())
        .outcome(a.outcome(), 200).actor(a.actor()).requestId("req-0002").outcomeOfIntent(17).build();
    assertNotEquals(HexFormat.of().formatHex(EntryCodec.encode(a)), HexFormat.of().formatHex(EntryCodec.encode(b)));
  }

  @Test
  void decode_unknownVersion_isRejected() {
    byte[] bytes = EntryCodec.encode(full());
    bytes[0] = 2;
    assertThrows(IllegalArgumentException.class, () -> EntryCodec.decode(bytes));
  }

  @Test
  void decode_fieldsOutOfOrder_isRejected() {
    // type then origin then time: tags 1, 3, 2
    byte[] bytes = HexFormat.of().parseHex("01" + "01000101" + "0300016f" + "020008" + "00000000000003e8");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EntryCodec.decode(bytes));
    assertEquals(true, e.getMessage().contains("out of order"), e.getMessage());
  }

  @Test
  void decode_trailingByte_isRejected() {
    byte[] ok = EntryCodec.encode(full());
    byte[] bytes = Arrays.copyOf(ok, ok.length + 1);
    assertThrows(IllegalArgumentException.class, () -> EntryCodec.decode(bytes));
  }

  @Test
  void decode_unsortedPseudonyms_isRejectedAsNonCanonical() {
    EntryRecord r = EntryRecord.builder().time(Instant.ofEpochMilli(0)).origin("o").interaction(Interaction.READ)
        .outcome(Outcome.SUCCESS).actor(new Actor("c", null, null)).requestId("r")
        .patients(List.of(pseudonym(1), pseudonym(2))).build();
    byte[] bytes = EntryCodec.encode(r);
    int p = bytes.length - 64;
    byte[] swapped = bytes.clone();
    System.arraycopy(bytes, p + 32, swapped, p, 32);
    System.arraycopy(bytes, p, swapped, p + 32, 32);
    assertThrows(IllegalArgumentException.class, () -> EntryCodec.decode(swapped));
  }

  @Test
  void build_intentWithOutcome_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> EntryRecord.builder().type(EntryType.INTENT)
        .time(Instant.EPOCH).origin("o").interaction(Interaction.CREATE).outcome(Outcome.SUCCESS)
        .actor(new Actor("c", null, null)).requestId("r").build());
  }

  @Test
  void build_outcomeWithoutIntentIndex_isRejected() {
    assertThrows(IllegalArgumentException.class, () -> EntryRecord.builder().type(EntryType.OUTCOME)
        .time(Instant.EPOCH).origin("o").interaction(Interaction.CREATE).outcome(Outcome.SUCCESS)
        .actor(new Actor("c", null, null)).requestId("r").build());
  }

  @Test
  void build_intent_encodesWithoutOutcome() {
    EntryRecord r = EntryRecord.builder().type(EntryType.INTENT).time(Instant.EPOCH).origin("o")
        .interaction(Interaction.CREATE).resource("Patient", null, null).actor(new Actor("c", null, null))
        .requestId("r").build();
    assertEquals(r, EntryCodec.decode(EntryCodec.encode(r)));
  }
}
