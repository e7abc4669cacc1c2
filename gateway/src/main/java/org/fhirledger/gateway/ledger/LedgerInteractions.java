package org.fhirledger.gateway.ledger;

import ca.uhn.fhir.rest.api.RestOperationTypeEnum;
import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.nio.charset.StandardCharsets;
import org.fhirledger.ledger.entry.Interaction;
import org.hl7.fhir.r4.model.Bundle;

/** Names HAPI's interaction types in the ledger's vocabulary. */
public final class LedgerInteractions {
  private static final String BUNDLE_KEY = LedgerInteractions.class.getName() + ".requestBundle";

  private LedgerInteractions() {}

  static Interaction of(RestOperationTypeEnum operation, RequestDetails request) {
    if (operation == null) {
      return Interaction.OPERATION;
    }
    return switch (operation) {
      case READ -> Interaction.READ;
      case VREAD -> Interaction.VREAD;
      case SEARCH_TYPE, SEARCH_SYSTEM, GET_PAGE -> Interaction.SEARCH;
      case HISTORY_INSTANCE, HISTORY_TYPE, HISTORY_SYSTEM -> Interaction.HISTORY;
      case CREATE -> Interaction.CREATE;
      case UPDATE -> Interaction.UPDATE;
      case PATCH -> Interaction.PATCH;
      case DELETE -> Interaction.DELETE;
      case METADATA -> Interaction.CAPABILITIES;
      case TRANSACTION, BATCH -> isBatch(request) ? Interaction.BATCH : Interaction.TRANSACTION;
      default -> Interaction.OPERATION;
    };
  }

  private static boolean isBatch(RequestDetails request) {
    return requestBundle(request).getType() == Bundle.BundleType.BATCH;
  }

  /**
   * The Bundle a system-level POST carries, parsed once per request; an empty Bundle when the body
   * is not one (the EHR will refuse it, and the entry says "transaction").
   */
  public static Bundle requestBundle(RequestDetails request) {
    if (request.getUserData().get(BUNDLE_KEY) instanceof Bundle cached) {
      return cached;
    }
    Bundle bundle = new Bundle();
    byte[] body = request.loadRequestContents();
    if (body != null && body.length > 0) {
      try {
        String text = new String(body, StandardCharsets.UTF_8);
        bundle = text.stripLeading().startsWith("<")
            ? request.getFhirContext().newXmlParser().parseResource(Bundle.class, text)
            : request.getFhirContext().newJsonParser().parseResource(Bundle.class, text);
      } catch (RuntimeException e) {
        bundle = new Bundle();
      }
    }
    request.getUserData().put(BUNDLE_KEY, bundle);
    return bundle;
  }
}
