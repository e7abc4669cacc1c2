package org.fhirledger.gateway.consent;

import java.util.Objects;

/**
 * One version of one Consent resource, as a decision names it.
 *
 * @param id the Consent's logical id, non-empty
 * @param version its version id, or null when the EHR gave none
 */
public record ConsentVersion(String id, String version) {

  public ConsentVersion {
    Objects.requireNonNull(id, "id");
    if (id.isEmpty()) {
      throw new IllegalArgumentException("id must not be empty");
    }
  }

  /** {@code Consent/<id>/_history/<version>}, or {@code Consent/<id>} without a version. */
  public String reference() {
    return version == null ? "Consent/" + id : "Consent/" + id + "/_history/" + version;
  }

  @Override
  public String toString() {
    return reference();
  }
}
