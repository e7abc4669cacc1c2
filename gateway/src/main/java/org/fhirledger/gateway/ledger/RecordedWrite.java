package org.fhirledger.gateway.ledger;

import java.time.Instant;
import java.util.Objects;
import org.fhirledger.ledger.entry.Actor;
import org.fhirledger.ledger.entry.Interaction;

/**
 * A successful write as the ledger recorded it: what the Provenance of that write is built from. Holds the EHR's
 * resource id (which the ledger itself omits for Patients): keep it inside the gateway and the EHR.
 *
 * @param interaction {@link Interaction#CREATE}, {@link Interaction#UPDATE}, {@link Interaction#PATCH} or
 *     {@link Interaction#DELETE}
 * @param resourceType the written resource's type
 * @param resourceId its logical id
 * @param versionId the version the write produced, or null when the EHR did not say (a delete, typically)
 * @param actor who wrote it
 * @param recorded the time of its OUTCOME entry
 * @param origin the log's origin line
 * @param ledgerIndex index of its OUTCOME entry
 * @param leafHash RFC 6962 leaf hash of that entry, 32 bytes
 */
public record RecordedWrite(Interaction interaction, String resourceType, String resourceId, String versionId,
    Actor actor, Instant recorded, String origin, long ledgerIndex, byte[] leafHash) {

  public RecordedWrite {
    Objects.requireNonNull(interaction, "interaction");
    Objects.requireNonNull(resourceType, "resourceType");
    Objects.requireNonNull(resourceId, "resourceId");
    Objects.requireNonNull(actor, "actor");
    Objects.requireNonNull(recorded, "recorded");
    Objects.requireNonNull(origin, "origin");
    leafHash = leafHash.clone();
    if (leafHash.length != 32) {
      throw new IllegalArgumentException("leafHash must be 32 bytes");
    }
  }

  @Override
  public byte[] leafHash() {
    return leafHash.clone();
  }

  /** This write with the version the EHR stored, once known. */
  public RecordedWrite withVersion(String version) {
    return new RecordedWrite(interaction, resourceType, resourceId, version, actor, recorded, origin, ledgerIndex,
        leafHash);
  }
}
