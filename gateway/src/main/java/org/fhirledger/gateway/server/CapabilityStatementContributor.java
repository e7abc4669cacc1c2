package org.fhirledger.gateway.server;

import org.hl7.fhir.r4.model.CapabilityStatement;

/**
 * Adds what a gateway feature contributes to the gateway's CapabilityStatement (for example the
 * SMART {@code rest.security} section). Called on every {@code /metadata} answer after the
 * gateway's own adjustments; implementations are thread-safe and must not fail.
 */
public interface CapabilityStatementContributor {
  /** @param gatewayBase the FHIR base the client reached the gateway at */
  void contribute(CapabilityStatement capabilityStatement, String gatewayBase);
}
