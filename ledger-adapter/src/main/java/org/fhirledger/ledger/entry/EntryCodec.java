package org.fhirledger.ledger.entry;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The canonical, versioned encoding of an {@link EntryRecord}: the same record always gives the same bytes, and
 * every record has exactly one encoding (decoding rejects anything else).
 *
 * <pre>
 * entry   = version:u8 (=1) field*          fields in strictly ascending tag order, absent ones omitted
 * field   = tag:u8 length:u16be value[length]
 * values  : enum code u8 | time int64be epoch millis | status u16be | index int64be
 *           | string UTF-8 | hash 32 bytes | pseudonyms n*32 bytes, ascending unsigned, no duplicates
 * tags    : 1 type, 2 time, 3 origin, 4 interaction, 5 outcome, 6 httpStatus, 7 resourceType, 8 resourceId,
 *           9 resourceVersion, 10 contentSha256, 11 actor.clientId, 12 actor.user, 13 actor.organization,
 *           14 purposeOfUse, 15 consentDecision, 16 consentReference, 17 requestId, 18 intentIndex, 19 patients,
 *           20 contextPatient (one 32-byte pseudonym; added later, optional, so entries without it are unchanged)
 * </pre>
 *
 * <p>Stateless and thread-safe.
 */
public final class EntryCodec {
  private static final int T_TYPE = 1, T_TIME = 2, T_ORIGIN = 3, T_INTERACTION = 4, T_OUTCOME = 5, T_STATUS = 6,
      T_RTYPE = 7, T_RID = 8, T_RVERSION = 9, T_SHA = 10, T_CLIENT = 11, T_USER = 12, T_ORG = 13, T_PURPOSE = 14,
      T_CONSENT = 15, T_CONSENT_REF = 16, T_REQUEST = 17, T_INTENT = 18, T_PATIENTS = 19,
      T_CONTEXT_PATIENT = 20;

  private EntryCodec() {}

  /**
   * Encodes {@code r}.
   *
   * @throws IllegalArgumentException if a field is longer than 65535 bytes or the whole entry exceeds the 65535-byte
   *     ledger entry limit
   */
  public static byte[] encode(EntryRecord r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(256);
    out.write(EntryRecord.ENCODING_VERSION);
    field(out, T_TYPE, new byte[] {(byte) r.type().code});
    field(out, T_TIME, ByteBuffer.allocate(8).putLong(r.time().toEpochMilli()).array());
    string(out, T_ORIGIN, r.origin());
    field(out, T_INTERACTION, new byte[] {(byte) r.interaction().code});
    if (r.outcome() != null) {
      field(out, T_OUTCOME, new byte[] {(byte) r.outcome().code});
    }
    if (r.httpStatus() != null) {
      field(out, T_STATUS, new byte[] {(byte) (r.httpStatus() >>> 8), (byte) (int) r.httpStatus()});
    }
    string(out, T_RTYPE, r.resourceType());
    string(out, T_RID, r.resourceId());
    string(out, T_RVERSION, r.resourceVersion());
    if (r.contentSha256() != null) {
      field(out, T_SHA, r.contentSha256());
    }
    string(out, T_CLIENT, r.actor().clientId());
    string(out, T_USER, r.actor().user());
    string(out, T_ORG, r.actor().organization());
    string(out, T_PURPOSE, r.purposeOfUse());
    if (r.consentDecision() != null) {
      field(out, T_CONSENT, new byte[] {(byte) r.consentDecision().code});
    }
    string(out, T_CONSENT_REF, r.consentReference());
    string(out, T_REQUEST, r.requestId());
    if (r.intentIndex() != null) {
      field(out, T_INTENT, ByteBuffer.allocate(8).putLong(r.intentIndex()).array());
    }
    if (!r.patients().isEmpty()) {
      ByteArrayOutputStream p = new ByteArrayOutputStream(32 * r.patients().size());
      for (Pseudonym ps : r.patients()) {
        p.writeBytes(ps.value());
      }
      field(out, T_PATIENTS, p.toByteArray());
    }
    if (r.contextPatient() != null) {
      field(out, T_CONTEXT_PATIENT, r.contextPatient().value());
    }
    if (out.size() > 0xFFFF) {
      throw new IllegalArgumentException("encoded entry is " + out.size() + " bytes, over the 65535-byte limit");
    }
    return out.toByteArray();
  }

  private static void string(ByteArrayOutputStream out, int tag, String s) {
    if (s != null) {
      field(out, tag, s.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static void field(ByteArrayOutputStream out, int tag, byte[] value) {
    if (value.length > 0xFFFF) {
      throw new IllegalArgumentException("field " + tag + " is " + value.length + " bytes, over 65535");
    }
    out.write(tag);
    out.write(value.length >>> 8);
    out.write(value.length & 0xFF);
    out.writeBytes(value);
  }

  /**
   * Decodes a canonical encoding.
   *
   * @throws IllegalArgumentException if the bytes are not the canonical encoding of a valid record (unknown
   *     version or tag, fields out of order, bad lengths, invalid UTF-8, unsorted pseudonyms, ...)
   */
  public static EntryRecord decode(byte[] bytes) {
    if (bytes.length == 0 || bytes[0] != EntryRecord.ENCODING_VERSION) {
      throw new IllegalArgumentException("unknown entry encoding version "
          + (bytes.length == 0 ? "(empty)" : Integer.toString(bytes[0] & 0xFF)));
    }
    byte[][] fields = new byte[T_CONTEXT_PATIENT + 1][];
    int pos = 1;
    int last = 0;
    while (pos < bytes.length) {
      if (pos + 3 > bytes.length) {
        throw new IllegalArgumentException("truncated field header at byte " + pos);
      }
      int tag = bytes[pos] & 0xFF;
      int len = ((bytes[pos + 1] & 0xFF) << 8) | (bytes[pos + 2] & 0xFF);
      pos += 3;
      if (tag <= last || tag > T_CONTEXT_PATIENT) {
        throw new IllegalArgumentException("field tag " + tag + " after " + last + " is unknown or out of order");
      }
      if (pos + len > bytes.length) {
        throw new IllegalArgumentException("field " + tag + " overruns the entry");
      }
      fields[tag] = Arrays.copyOfRange(bytes, pos, pos + len);
      pos += len;
      last = tag;
    }
    List<Pseudonym> patients = new ArrayList<>();
    byte[] p = fields[T_PATIENTS];
    if (p != null) {
      if (p.length == 0 || p.length % 32 != 0) {
        throw new IllegalArgumentException("patients field must hold one or more 32-byte pseudonyms");
      }
      for (int i = 0; i < p.length; i += 32) {
        patients.add(new Pseudonym(Arrays.copyOfRange(p, i, i + 32)));
      }
    }
    EntryRecord r = new EntryRecord(
        EntryType.of(u8(required(fields, T_TYPE, "type"))),
        Instant.ofEpochMilli(int64(required(fields, T_TIME, "time"))),
        utf8(required(fields, T_ORIGIN, "origin")),
        Interaction.of(u8(required(fields, T_INTERACTION, "interaction"))),
        fields[T_OUTCOME] == null ? null : Outcome.of(u8(fields[T_OUTCOME])),
        fields[T_STATUS] == null ? null : u16(fields[T_STATUS]),
        utf8(fields[T_RTYPE]), utf8(fields[T_RID]), utf8(fields[T_RVERSION]),
        fields[T_SHA],
        new Actor(utf8(required(fields, T_CLIENT, "actor.clientId")), utf8(fields[T_USER]), utf8(fields[T_ORG])),
        utf8(fields[T_PURPOSE]),
        fields[T_CONSENT] == null ? null : ConsentDecision.of(u8(fields[T_CONSENT])),
        utf8(fields[T_CONSENT_REF]),
        utf8(required(fields, T_REQUEST, "requestId")),
        fields[T_INTENT] == null ? null : int64(fields[T_INTENT]),
        patients,
        contextPatient(fields[T_CONTEXT_PATIENT]));
    if (!Arrays.equals(encode(r), bytes)) {
      throw new IllegalArgumentException("entry is not in canonical form");
    }
    return r;
  }

  private static Pseudonym contextPatient(byte[] v) {
    if (v == null) {
      return null;
    }
    if (v.length != 32) {
      throw new IllegalArgumentException("contextPatient must be one 32-byte pseudonym");
    }
    return new Pseudonym(v);
  }

  private static byte[] required(byte[][] fields, int tag, String name) {
    if (fields[tag] == null) {
      throw new IllegalArgumentException("required field " + name + " is missing");
    }
    return fields[tag];
  }

  private static int u8(byte[] v) {
    if (v.length != 1) {
      throw new IllegalArgumentException("expected a 1-byte code, got " + v.length + " bytes");
    }
    return v[0] & 0xFF;
  }

  private static int u16(byte[] v) {
    if (v.length != 2) {
      throw new IllegalArgumentException("expected 2 bytes, got " + v.length);
    }
    return ((v[0] & 0xFF) << 8) | (v[1] & 0xFF);
  }

  private static long int64(byte[] v) {
    if (v.length != 8) {
      throw new IllegalArgumentException("expected 8 bytes, got " + v.length);
    }
    return ByteBuffer.wrap(v).getLong();
  }

  private static String utf8(byte[] v) {
    if (v == null) {
      return null;
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(v)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException("string field is not valid UTF-8", e);
    }
  }
}
