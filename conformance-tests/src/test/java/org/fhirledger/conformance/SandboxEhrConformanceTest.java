package org.fhirledger.conformance;

/** Every interaction, through a gateway that started its embedded sandbox EHR. */
class SandboxEhrConformanceTest extends FhirInteractionsContract {
  @Override
  Target target() {
    return Environments.sandbox();
  }
}
