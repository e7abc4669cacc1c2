package org.fhirledger.conformance;

/** Bad input through a gateway that started its embedded sandbox EHR. */
class SandboxEhrBadInputTest extends BadInputContract {
  @Override
  Target target() {
    return Environments.sandbox();
  }
}
