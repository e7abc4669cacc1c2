package org.fhirledger.gateway.ledger;

import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.fhirledger.ledger.entry.Interaction;

/**
 * What the ledger records about one completed interaction (or one entry of a batch or
 * transaction), derived from the request and the EHR's answer. Contains no PHI: patients are
 * references ({@code Patient/123}) that the recorder turns into pseudonyms before anything is
 * written.
 *
 * @param interaction the FHIR interaction
 * @param httpStatus the status returned to the client
 * @param resourceType a FHIR resource type name, or null
 * @param resourceId a logical id, or null
 * @param resourceVersion a version id, or null
 * @param contentSha256 SHA-256 of the canonical JSON of the stored or returned content, or null
 * @param patients references of the patients whose data was disclosed or changed
 */
record RecordedFacts(
    Interaction interaction,
    int httpStatus,
    String resourceType,
    String resourceId,
    String resourceVersion,
    byte[] contentSha256,
    Set<String> patients) {

  RecordedFacts {
    Objects.requireNonNull(interaction, "interaction");
    patients = Set.copyOf(patients);
    contentSha256 = contentSha256 == null ? null : contentSha256.clone();
  }

  static RecordedFacts of(Interaction interaction, int status, String type, String id, String version) {
    return new RecordedFacts(interaction, status, type, id, version, null, Set.of());
  }

  RecordedFacts withContent(byte[] sha256, Set<String> patientRefs) {
    return new RecordedFacts(interaction, httpStatus, resourceType, resourceId, resourceVersion, sha256, patientRefs);
  }

  RecordedFacts withVersion(String type, String id, String version) {
    return new RecordedFacts(interaction, httpStatus, type, id, version, contentSha256, patients);
  }

  static List<String> sorted(Set<String> s) {
    return s.stream().sorted().toList();
  }
}
