package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.parser.DataFormatException;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.util.FhirTerser;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.instance.model.api.IIdType;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.Patient;

/**
 * Reads FHIR content for the ledger: parses a response body, computes the SHA-256 of its
 * <b>canonical JSON</b>, and finds the patients whose data it holds. Thread-safe.
 *
 * <p>Canonical JSON: the content parsed as FHIR R4 and encoded by HAPI FHIR's JSON parser without
 * pretty printing, keeping {@code id} and {@code meta} (so {@code meta.versionId} and
 * {@code meta.lastUpdated} of the stored version are covered). JSON and XML answers with the same
 * content have the same digest. The content is what the client received: URLs already point at the
 * gateway.
 */
final class FhirContent {

  private final FhirContext fhirContext;
  private final PatientCompartmentScan scan;

  FhirContent(FhirContext fhirContext) {
    this.fhirContext = fhirContext;
    this.scan = new PatientCompartmentScan(fhirContext);
  }

  /**
   * The patients whose data an answer discloses ({@code Patient/123}): the compartment owners of its resources, as
   * {@link #patients} finds them in the parsed answer (none for an OperationOutcome or an answer that is not FHIR).
   * A JSON answer is scanned as a stream instead of parsed when the scan can be sure of the same result.
   */
  Set<String> disclosedPatients(byte[] body, String contentType) {
    if (body.length > 0 && contentType != null && EncodingEnum.forContentType(contentType) == EncodingEnum.JSON) {
      Optional<Set<String>> scanned = scan.patients(body);
      if (scanned.isPresent()) {
        return scanned.get();
      }
    }
    return parsedPatients(body, contentType);
  }

  /** {@link #disclosedPatients} by a full HAPI parse. */
  Set<String> parsedPatients(byte[] body, String contentType) {
    return parse(body, contentType).filter(r -> !"OperationOutcome".equals(r.fhirType())).map(this::patients)
        .orElse(Set.of());
  }

  /** Parses a FHIR body; empty when it is empty, not JSON or XML, or not FHIR. */
  Optional<IBaseResource> parse(byte[] body, String contentType) {
    if (body.length == 0 || contentType == null) {
      return Optional.empty();
    }
    EncodingEnum encoding = EncodingEnum.forContentType(contentType);
    if (encoding != EncodingEnum.JSON && encoding != EncodingEnum.XML) {
      return Optional.empty();
    }
    try {
      IParser parser = encoding.newParser(fhirContext);
      return Optional.of(parser.parseResource(new String(body, StandardCharsets.UTF_8)));
    } catch (DataFormatException | IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  byte[] canonicalSha256(IBaseResource resource) {
    String json = fhirContext.newJsonParser().setPrettyPrint(false).encodeResourceToString(resource);
    return sha256(json.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }

  /** References ({@code Patient/123}) of the patients whose compartment the content belongs to. */
  Set<String> patients(IBaseResource resource) {
    Set<String> out = new TreeSet<>();
    if (resource instanceof Bundle bundle) {
      for (Bundle.BundleEntryComponent entry : bundle.getEntry()) {
        if (entry.hasResource()) {
          addPatients(entry.getResource(), out);
        }
      }
    } else {
      addPatients(resource, out);
    }
    return out;
  }

  private void addPatients(IBaseResource resource, Set<String> out) {
    if (resource instanceof Patient patient) {
      if (patient.getIdElement().hasIdPart()) {
        out.add("Patient/" + patient.getIdElement().getIdPart());
      }
      return;
    }
    if (resource instanceof Bundle nested) {
      nested.getEntry().stream().filter(Bundle.BundleEntryComponent::hasResource)
          .forEach(e -> addPatients(e.getResource(), out));
      return;
    }
    FhirTerser terser = fhirContext.newTerser();
    if (fhirContext.getResourceDefinition(resource).getSearchParamsForCompartmentName("Patient").isEmpty()) {
      return;
    }
    for (IIdType owner : terser.getCompartmentOwnersForResource("Patient", resource, Set.of())) {
      // HAPI does not filter paths without a type restriction (Observation.performer, Group.member.entity): a
      // Practitioner/d1 there is not patient d1
      if (owner.hasIdPart() && (!owner.hasResourceType() || "Patient".equals(owner.getResourceType()))) {
        out.add("Patient/" + owner.getIdPart());
      }
    }
  }
}
