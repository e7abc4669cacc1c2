package org.fhirledger.conformance;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.rest.client.api.IGenericClient;
import ca.uhn.fhir.rest.client.api.IRestfulClientFactory;
import ca.uhn.fhir.rest.client.api.ServerValidationModeEnum;
import ca.uhn.fhir.rest.client.interceptor.BearerTokenAuthInterceptor;
import java.net.URI;

/**
 * A gateway under test together with the EHR behind it: the gateway's base, the EHR's base (for
 * side-by-side comparisons and the leak check) and clients for both.
 */
public final class Target {

  private static final FhirContext FHIR = newContext();

  private final String name;
  private final String gatewayBase;
  private final URI ehrBase;
  private final LeakGuard guard;
  private final IGenericClient gatewayClient;
  private final IGenericClient ehrClient;
  private final RawHttp gatewayHttp;
  private final RawHttp ehrHttp;

  public Target(String name, String gatewayBase, URI ehrBase) {
    this.name = name;
    this.gatewayBase = gatewayBase;
    this.ehrBase = ehrBase;
    this.guard = new LeakGuard(ehrBase);
    this.gatewayClient = newGatewayClient();
    this.ehrClient = FHIR.newRestfulGenericClient(ehrBase.toString());
    this.gatewayHttp = new RawHttp(guard);
    this.ehrHttp = new RawHttp(null);
  }

  static FhirContext fhir() {
    return FHIR;
  }

  private static FhirContext newContext() {
    // Our own context, so that client settings never touch the gateway's (shared, cached) one.
    FhirContext ctx = FhirContext.forR4();
    IRestfulClientFactory factory = ctx.getRestfulClientFactory();
    factory.setServerValidationMode(ServerValidationModeEnum.NEVER);
    factory.setSocketTimeout(120_000);
    factory.setConnectTimeout(10_000);
    return ctx;
  }

  /** A new HAPI client on the gateway with the leak check registered (for adding more interceptors). */
  public IGenericClient newGatewayClient() {
    IGenericClient c = FHIR.newRestfulGenericClient(gatewayBase);
    c.registerInterceptor(new NoLeakInterceptor(guard));
    c.registerInterceptor(new BearerTokenAuthInterceptor(TestIssuer.suiteToken()));
    return c;
  }

  public String name() {
    return name;
  }

  public String gatewayBase() {
    return gatewayBase;
  }

  public URI ehrBase() {
    return ehrBase;
  }

  public LeakGuard guard() {
    return guard;
  }

  /** HAPI generic client on the gateway; every response is checked for the EHR's address. */
  public IGenericClient gateway() {
    return gatewayClient;
  }

  /** HAPI generic client straight to the EHR, for comparison only. */
  public IGenericClient ehr() {
    return ehrClient;
  }

  /** Raw HTTP client for the gateway; every response is checked for the EHR's address. */
  public RawHttp gatewayHttp() {
    return gatewayHttp;
  }

  /** Raw HTTP client for requests straight to the EHR, for comparison only. */
  public RawHttp ehrHttp() {
    return ehrHttp;
  }

  @Override
  public String toString() {
    return name + " (gateway " + gatewayBase + " -> EHR " + ehrBase + ")";
  }
}
