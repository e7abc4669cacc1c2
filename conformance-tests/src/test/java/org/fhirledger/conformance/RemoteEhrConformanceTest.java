package org.fhirledger.conformance;

/**
 * Every interaction, through a gateway configured with {@code gateway.upstream.base-url} of a
 * separately started HAPI JPA server on its own port and data directory.
 */
class RemoteEhrConformanceTest extends FhirInteractionsContract {
  @Override
  Target target() {
    return Environments.remote();
  }
}
