package org.fhirledger.gateway.server;

import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import ca.uhn.fhir.rest.server.exceptions.InvalidRequestException;
import java.util.Arrays;
import java.util.List;
import org.fhirledger.gateway.ledger.LedgerInteractions;
import org.hl7.fhir.r4.model.Bundle;

/**
 * Resource types the gateway answers itself and that must therefore never reach the EHR by another way:
 * {@code AuditEvent} is the gateway's audit trail, rendered from its ledger. Its type-level and instance-level
 * URLs are served locally; this closes the two side doors, bundle entries and system-level {@code _type} searches.
 */
final class GatewayOwnedTypes {

  static final List<String> TYPES = List.of("AuditEvent");

  private GatewayOwnedTypes() {}

  /**
   * @throws InvalidRequestException (400) if the request would write or read a gateway-owned type at the EHR
   */
  static void refuseForwarding(RequestDetails request, RestOperationTypeEnum operation) {
    if (operation == RestOperationTypeEnum.TRANSACTION || operation == RestOperationTypeEnum.BATCH) {
      Bundle bundle = LedgerInteractions.requestBundle(request);
      for (int i = 0; i < bundle.getEntry().size(); i++) {
        Bundle.BundleEntryComponent entry = bundle.getEntry().get(i);
        String url = entry.getRequest().hasUrl() ? entry.getRequest().getUrl() : "";
        String type = url.split("[/?]", 2)[0];
        if (TYPES.contains(type) || (entry.hasResource() && TYPES.contains(entry.getResource().fhirType()))) {
          throw new InvalidRequestException("Bundle.entry[" + i + "] is about AuditEvent, which is the gateway's audit "
              + "trail, rendered from its ledger: it cannot be written, and cannot be read inside a bundle. Remove the "
              + "entry; to read the audit trail, send GET AuditEvent?patient=...&date=... on its own.");
        }
      }
    } else if (operation == RestOperationTypeEnum.SEARCH_SYSTEM) {
      String[] types = request.getParameters().get("_type");
      if (types != null && Arrays.stream(types).flatMap(t -> Arrays.stream(t.split(",")))
          .map(String::trim).anyMatch(TYPES::contains)) {
        throw new InvalidRequestException("_type names AuditEvent, which is the gateway's audit trail and is not "
            + "searched at the EHR: search it with GET AuditEvent?... on its own, and drop it from _type.");
      }
    }
  }
}
