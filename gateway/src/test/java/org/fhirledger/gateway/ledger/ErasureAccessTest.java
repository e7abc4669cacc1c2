package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Optional;
import org.junit.jupiter.api.Test;

class ErasureAccessTest {

  private final ErasureAccess enabled = new ErasureAccess(true);

  @Test
  void refusal_notEnabled_refusedEvenFromLoopback() {
    assertTrue(new ErasureAccess(false).refusal("127.0.0.1", false).orElseThrow().contains("not enabled"));
  }

  @Test
  void refusal_loopbackV4AndV6_allowed() {
    assertEquals(Optional.empty(), enabled.refusal("127.0.0.1", false));
    assertEquals(Optional.empty(), enabled.refusal("0:0:0:0:0:0:0:1", false));
  }

  @Test
  void refusal_otherAddress_refused() {
    assertTrue(enabled.refusal("192.0.2.10", false).isPresent());
  }

  @Test
  void refusal_loopbackThroughAProxy_refused() {
    assertTrue(enabled.refusal("127.0.0.1", true).isPresent());
  }

  @Test
  void refusal_hostNameInsteadOfAddress_refusedWithoutResolving() {
    assertTrue(enabled.refusal("localhost", false).isPresent());
    assertTrue(enabled.refusal("dead", false).isPresent());
    assertTrue(enabled.refusal(null, false).isPresent());
  }
}
