package org.fhirledger.gateway.audit;

import ca.uhn.fhir.rest.api.server.RequestDetails;
import java.util.List;
import java.util.Objects;

/**
 * The FHIR endpoints the gateway answers itself from its ledger instead of forwarding to the EHR:
 * every {@code AuditEvent} interaction (search and read are served; anything else is refused, so
 * the gateway's audit trail never reaches the EHR) and {@code Patient/<id>/$access-report}.
 * Immutable and thread-safe.
 */
public final class AuditEndpoints {

  private final List<Object> providers;

  AuditEndpoints(AuditEventProvider auditEvents, AccessReportProvider accessReports) {
    this.providers = List.of(Objects.requireNonNull(auditEvents, "auditEvents"),
        Objects.requireNonNull(accessReports, "accessReports"));
  }

  /** The HAPI plain providers to register on the FHIR server. */
  public List<Object> providers() {
    return providers;
  }

  /** Whether the request is for these endpoints (and must not be forwarded). */
  public boolean serves(RequestDetails request) {
    String type = request.getResourceName();
    return "AuditEvent".equals(type)
        || "Patient".equals(type) && AccessReportProvider.OPERATION.equals(request.getOperation());
  }
}
