package org.fhirledger.ledger.entry;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.TreeSet;

/**
 * The ledger entry of one gateway interaction: a small record about the interaction, never the resource, and no
 * PHI (patients appear only as {@link Pseudonym}s). Encode it with {@link EntryCodec} to append it.
 *
 * <p>Immutable. The time is kept to the millisecond (the precision of the encoding); pseudonyms are kept sorted and
 * de-duplicated, so equal records always encode to equal bytes. Build with {@link #builder}.
 *
 * @param type entry type, non-null
 * @param time when the interaction happened, non-null, truncated to milliseconds
 * @param origin the log origin the gateway writes to, non-empty
 * @param interaction the interaction, non-null
 * @param outcome how it ended; null for an {@link EntryType#INTENT}, required otherwise
 * @param httpStatus the HTTP status returned, 100..599, or null (an intent)
 * @param resourceType FHIR resource type name, or null (for example a system-level search)
 * @param resourceId logical id, or null
 * @param resourceVersion version id, or null
 * @param contentSha256 SHA-256 of the canonical JSON of the stored or returned content, 32 bytes, or null
 * @param actor who acted, non-null
 * @param purposeOfUse purpose of use code (for example {@code TREAT}), or null
 * @param consentDecision the consent decision, or null
 * @param consentReference the Consent the decision rests on (for example {@code Consent/42}), or null
 * @param requestId the gateway's request id, non-empty
 * @param intentIndex for an {@link EntryType#OUTCOME}, the ledger index of its intent; null otherwise
 * @param patients pseudonyms of the patients whose data was disclosed or changed, non-null
 * @param contextPatient pseudonym of the patient in the caller's launch context (a SMART token's
 *     {@code patient}), or null; set also when nothing was disclosed, for example on a refusal
 */
public record EntryRecord(
    EntryType type,
    Instant time,
    String origin,
    Interaction interaction,
    Outcome outcome,
    Integer httpStatus,
    String resourceType,
    String resourceId,
    String resourceVersion,
    byte[] contentSha256,
    Actor actor,
    String purposeOfUse,
    ConsentDecision consentDecision,
    String consentReference,
    String requestId,
    Long intentIndex,
    List<Pseudonym> patients,
    Pseudonym contextPatient) {

  /** Version of the canonical encoding written by this code. */
  public static final int ENCODING_VERSION = 1;

  public EntryRecord {
    Objects.requireNonNull(type, "type");
    Objects.requireNonNull(time, "time");
    Objects.requireNonNull(origin, "origin");
    Objects.requireNonNull(interaction, "interaction");
    Objects.requireNonNull(actor, "actor");
    Objects.requireNonNull(requestId, "requestId");
    Objects.requireNonNull(patients, "patients");
    if (origin.isEmpty() || requestId.isEmpty()) {
      throw new IllegalArgumentException("origin and requestId must not be empty");
    }
    time = time.truncatedTo(ChronoUnit.MILLIS);
    if (type == EntryType.INTENT) {
      if (outcome != null) {
        throw new IllegalArgumentException("an INTENT has no outcome yet");
      }
    } else if (outcome == null) {
      throw new IllegalArgumentException("a " + type + " entry needs an outcome");
    }
    if ((type == EntryType.OUTCOME) != (intentIndex != null)) {
      throw new IllegalArgumentException("intentIndex is required for, and only for, OUTCOME entries");
    }
    if (intentIndex != null && intentIndex < 0) {
      throw new IllegalArgumentException("intentIndex must be >= 0");
    }
    if (httpStatus != null && (httpStatus < 100 || httpStatus > 599)) {
      throw new IllegalArgumentException("httpStatus must be 100..599, was " + httpStatus);
    }
    if (contentSha256 != null) {
      if (contentSha256.length != 32) {
        throw new IllegalArgumentException("contentSha256 must be 32 bytes, was " + contentSha256.length);
      }
      contentSha256 = contentSha256.clone();
    }
    patients = List.copyOf(new TreeSet<>(patients));
  }

  @Override
  public byte[] contentSha256() {
    return contentSha256 == null ? null : contentSha256.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof EntryRecord r && Arrays.equals(EntryCodec.encode(this), EntryCodec.encode(r));
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(EntryCodec.encode(this));
  }

  /** This record naming {@code others} as its patients instead (for splitting an entry that would be too large). */
  public EntryRecord withPatients(List<Pseudonym> others) {
    return new EntryRecord(type, time, origin, interaction, outcome, httpStatus, resourceType, resourceId,
        resourceVersion, contentSha256, actor, purposeOfUse, consentDecision, consentReference, requestId, intentIndex,
        others, contextPatient);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Mutable builder; not thread-safe. {@link #build} validates. */
  public static final class Builder {
    private EntryType type = EntryType.INTERACTION;
    private Instant time;
    private String origin;
    private Interaction interaction;
    private Outcome outcome;
    private Integer httpStatus;
    private String resourceType;
    private String resourceId;
    private String resourceVersion;
    private byte[] contentSha256;
    private Actor actor;
    private String purposeOfUse;
    private ConsentDecision consentDecision;
    private String consentReference;
    private String requestId;
    private Long intentIndex;
    private List<Pseudonym> patients = List.of();
    private Pseudonym contextPatient;

    private Builder() {}

    public Builder type(EntryType v) { type = v; return this; }
    public Builder time(Instant v) { time = v; return this; }
    public Builder origin(String v) { origin = v; return this; }
    public Builder interaction(Interaction v) { interaction = v; return this; }
    public Builder outcome(Outcome v, int status) { outcome = v; httpStatus = status; return this; }
    public Builder outcome(Outcome v) { outcome = v; return this; }
    public Builder httpStatus(Integer v) { httpStatus = v; return this; }
    public Builder resource(String type, String id, String version) {
      resourceType = type;
      resourceId = id;
      resourceVersion = version;
      return this;
    }
    public Builder contentSha256(byte[] v) { contentSha256 = v; return this; }
    public Builder actor(Actor v) { actor = v; return this; }
    public Builder purposeOfUse(String v) { purposeOfUse = v; return this; }
    public Builder consent(ConsentDecision decision, String reference) {
      consentDecision = decision;
      consentReference = reference;
      return this;
    }
    public Builder requestId(String v) { requestId = v; return this; }
    /** Makes this an OUTCOME entry of the intent at {@code index}. */
    public Builder outcomeOfIntent(long index) { type = EntryType.OUTCOME; intentIndex = index; return this; }
    public Builder patients(List<Pseudonym> v) { patients = List.copyOf(v); return this; }
    public Builder contextPatient(Pseudonym v) { contextPatient = v; return this; }

    public EntryRecord build() {
      return new EntryRecord(type, time, origin, interaction, outcome, httpStatus, resourceType, resourceId,
          resourceVersion, contentSha256, actor, purposeOfUse, consentDecision, consentReference, requestId,
          intentIndex, patients, contextPatient);
    }
  }
}
