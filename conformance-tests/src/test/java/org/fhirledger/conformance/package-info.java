/**
 * Black-box conformance suite of the FHIR gateway: starts gateways in-process on random ports and
 * drives them over real HTTP with HAPI's generic client and {@link java.net.http.HttpClient}.
 *
 * <ul>
 *   <li>{@link org.fhirledger.conformance.FhirInteractionsContract}: every FHIR interaction, run by
 *       {@link org.fhirledger.conformance.SandboxEhrConformanceTest} (embedded sandbox EHR) and
 *       {@link org.fhirledger.conformance.RemoteEhrConformanceTest} (a separately started HAPI JPA server
 *       configured by {@code gateway.upstream.base-url}).</li>
 *   <li>{@link org.fhirledger.conformance.BadInputContract}: malformed and invalid input, run against both.</li>
 *   <li>{@link org.fhirledger.conformance.UpstreamFaultsTest}: EHR unreachable (503), hung (504), writes
 *       never retried, nothing written while the EHR is down.</li>
 *   <li>{@link org.fhirledger.conformance.LeakGuard}: every response of every client is checked for the
 *       EHR's host:port; {@link org.fhirledger.conformance.LeakGuardSelfTest} proves the check can fail.</li>
 * </ul>
 *
 * <p>Gateways and EHRs start once per JVM ({@link org.fhirledger.conformance.Environments}) and are
 * shared by all classes; tests create their own synthetic data under fresh identifiers, so they do not
 * depend on each other or on their order. Run:
 * {@code ./mvnw -B -pl conformance-tests -am verify -Dtest='org/fhirledger/conformance/**}{@code /*Test'
 * -Dsurefire.failIfNoSpecifiedTests=false}.
 */
package org.fhirledger.conformance;
