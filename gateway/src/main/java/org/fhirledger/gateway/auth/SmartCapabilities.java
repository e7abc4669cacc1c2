package org.fhirledger.gateway.auth;

import java.util.Objects;
import org.fhirledger.gateway.server.CapabilityStatementContributor;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.hl7.fhir.r4.model.CodeableConcept;
import org.hl7.fhir.r4.model.Extension;
import org.hl7.fhir.r4.model.UriType;

/**
 * The CapabilityStatement's {@code rest.security}: CORS on, service SMART-on-FHIR, and the SMART
 * {@code oauth-uris} extension with the issuer's token, authorize and introspect endpoints as far
 * as they are known (SMART App Launch 2.x, conformance.html). Thread-safe.
 */
final class SmartCapabilities implements CapabilityStatementContributor {

  static final String OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris";
  static final String SERVICE_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service";

  private final IssuerMetadata issuer;

  SmartCapabilities(IssuerMetadata issuer) {
    this.issuer = Objects.requireNonNull(issuer, "issuer");
  }

  @Override
  public void contribute(CapabilityStatement cs, String gatewayBase) {
    for (CapabilityStatement.CapabilityStatementRestComponent rest : cs.getRest()) {
      CapabilityStatement.CapabilityStatementRestSecurityComponent security = new CapabilityStatement
          .CapabilityStatementRestSecurityComponent();
      security.setCors(true);
      security.addService(new CodeableConcept().addCoding(
          new org.hl7.fhir.r4.model.Coding(SERVICE_SYSTEM, "SMART-on-FHIR", "SMART on FHIR")));
      security.setDescription("SMART on FHIR: send 'Authorization: Bearer <access token>'; the token's scopes "
          + "(SMART v1 and v2, granular) and patient context decide what this gateway forwards and returns. "
          + "Discovery: [base]/.well-known/smart-configuration");
      issuer.endpoints(gatewayBase).ifPresent(e -> {
        Extension uris = new Extension(OAUTH_URIS);
        e.token().ifPresent(u -> uris.addExtension("token", new UriType(u.toString())));
        e.authorization().ifPresent(u -> uris.addExtension("authorize", new UriType(u.toString())));
        e.introspection().ifPresent(u -> uris.addExtension("introspect", new UriType(u.toString())));
        if (uris.hasExtension()) {
          security.addExtension(uris);
        }
      });
      rest.setSecurity(security);
    }
  }
}
