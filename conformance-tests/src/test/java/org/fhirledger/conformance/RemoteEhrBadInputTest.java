package org.fhirledger.conformance;

/** Bad input through a gateway configured with the base URL of a separately started EHR. */
class RemoteEhrBadInputTest extends BadInputContract {
  @Override
  Target target() {
    return Environments.remote();
  }
}
