package org.fhirledger.conformance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ca.uhn.fhir.rest.client.api.IGenericClient;
import java.net.URI;
import org.hl7.fhir.r4.model.CapabilityStatement;
import org.junit.jupiter.api.Test;

/**
 * The leak check must be able to fail: pointed at an address that every response does contain (the
 * gateway's own, which it writes into CapabilityStatement.implementation.url), each kind of client
 * in the suite has to report it, also through gzip.
 */
class LeakGuardSelfTest {

  private static URI gatewayBase() {
    return URI.create(Environments.sandbox().gatewayBase());
  }

  @Test
  void hapiClient_responseContainsGuardedAddress_fails() {
    LeakGuard guard = new LeakGuard(gatewayBase());
    IGenericClient client = Target.fhir().newRestfulGenericClient(gatewayBase().toString());
    client.registerInterceptor(new NoLeakInterceptor(guard));

    Throwable thrown = assertThrows(Throwable.class,
        () -> client.capabilities().ofType(CapabilityStatement.class).execute());

    assertTrue(String.valueOf(thrown).contains("leaked") || String.valueOf(thrown.getCause()).contains("leaked"),
        "the interceptor reports the leak: " + thrown);
    assertThrows(AssertionError.class, guard::assertNoViolations);
  }

  @Test
  void rawClient_gzipResponseContainsGuardedAddress_fails() {
    LeakGuard guard = new LeakGuard(gatewayBase());
    RawHttp http = new RawHttp(guard);

    AssertionError e = assertThrows(AssertionError.class,
        () -> http.get(gatewayBase() + "/metadata", "Accept-Encoding", "gzip"));

    assertTrue(e.getMessage().contains("leaked"), e.getMessage());
    assertThrows(AssertionError.class, guard::assertNoViolations);
  }

  @Test
  void check_textWithoutAddress_passes() {
    LeakGuard guard = new LeakGuard(URI.create("http://127.0.0.1:4711/fhir"));

    guard.check("a header", "http://localhost:8080/fhir/Patient/1");
    guard.checkBody("a body", "{\"url\":\"http://127.0.0.1:47110/fhir\"}".getBytes());

    assertEquals(6, guard.forbidden().size());
    guard.assertNoViolations();
    assertThrows(AssertionError.class, () -> guard.check("a link", "http://gw/fhir?next=http%3A%2F%2F127.0.0.1%3A4711%2Ffhir"));
  }
}
