package org.fhirledger.gateway.ledger;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.fhirledger.ledger.entry.Interaction;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.r4.model.Bundle;
import org.hl7.fhir.r4.model.IdType;

/**
 * The facts of each entry of a batch or transaction response, in the order of the request's
 * entries (FHIR requires the response to keep it).
 */
final class BundleFacts {
  private BundleFacts() {}

  static List<RecordedFacts> of(Bundle request, IBaseResource response, FhirContent content) {
    List<RecordedFacts> out = new ArrayList<>();
    if (!(response instanceof Bundle bundle)) {
      return out;
    }
    for (int i = 0; i < bundle.getEntry().size(); i++) {
      Bundle.BundleEntryComponent entry = bundle.getEntry().get(i);
      Bundle.BundleEntryRequestComponent asked =
          i < request.getEntry().size() ? request.getEntry().get(i).getRequest() : new Bundle.BundleEntryRequestComponent();
      Bundle.BundleEntryResponseComponent r = entry.getResponse();
      int status = status(r.getStatus());
      IdType location = r.hasLocation() ? new IdType(r.getLocation()) : null;
      IBaseResource resource = entry.hasResource() ? entry.getResource() : null;
      if (resource != null && "OperationOutcome".equals(resource.fhirType())) {
        resource = null;
      }
      String type = location != null ? location.getResourceType()
          : resource != null ? resource.fhirType() : null;
      String id = location != null ? location.getIdPart() : resource != null ? resource.getIdElement().getIdPart() : null;
      String version = location != null ? location.getVersionIdPart() : null;
      RecordedFacts facts = RecordedFacts.of(interactionOf(asked), status, type, id, version);
      if (resource != null) {
        facts = facts.withContent(content.canonicalSha256(resource), content.patients(resource));
      } else if ("Patient".equals(type) && id != null && status < 400) {
        facts = facts.withContent(null, Set.of("Patient/" + id));
      }
      out.add(facts);
    }
    return out;
  }

  private static Interaction interactionOf(Bundle.BundleEntryRequestComponent asked) {
    String url = asked.hasUrl() ? asked.getUrl() : "";
    if (!asked.hasMethod()) {
      return Interaction.OPERATION;
    }
    return switch (asked.getMethod()) {
      case GET, HEAD -> url.contains("?") || url.contains("$") || url.indexOf('/') < 0
          ? (url.contains("$") ? Interaction.OPERATION : Interaction.SEARCH)
          : url.contains("/_history/") ? Interaction.VREAD : url.endsWith("/_history") ? Interaction.HISTORY : Interaction.READ;
      case POST -> url.contains("$") ? Interaction.OPERATION : url.contains("_search") ? Interaction.SEARCH : Interaction.CREATE;
      case PUT -> Interaction.UPDATE;
      case PATCH -> Interaction.PATCH;
      case DELETE -> Interaction.DELETE;
      default -> Interaction.OPERATION;
    };
  }

  private static int status(String s) {
    if (s == null || s.length() < 3) {
      return 500;
    }
    try {
      return Integer.parseInt(s.substring(0, 3));
    } catch (NumberFormatException e) {
      return 500;
    }
  }
}
