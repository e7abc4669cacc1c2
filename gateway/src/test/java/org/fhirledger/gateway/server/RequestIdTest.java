package org.fhirledger.gateway.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Request ids: 16 alphanumeric characters, unique, every character about equally likely (no modulo bias). */
class RequestIdTest {
  @Test
  void ids_areAlphanumericUniqueAndUniform() {
    int ids = 20_000;
    Set<String> seen = new HashSet<>();
    int[] counts = new int[128];
    for (int i = 0; i < ids; i++) {
      String id = GatewayRestfulServer.randomId(16);
      assertEquals(16, id.length());
      assertTrue(id.matches("[A-Za-z0-9]{16}"), id);
      seen.add(id);
      id.chars().forEach(c -> counts[c]++);
    }
    assertEquals(ids, seen.size(), "duplicate request ids");
    double expected = ids * 16 / 62.0;
    for (char c : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".toCharArray()) {
      // 5,161 expected per character, standard deviation about 71: +-15% is more than 10 deviations
      assertTrue(Math.abs(counts[c] - expected) < 0.15 * expected, c + " occurred " + counts[c] + " times");
    }
  }
}
