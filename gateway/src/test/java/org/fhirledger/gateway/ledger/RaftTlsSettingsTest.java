package org.fhirledger.gateway.ledger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.fhirledger.gateway.GatewayProperties;
import org.fhirledger.ledger.raft.RaftTls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A Raft member of the gateway uses mutual TLS unless plaintext is chosen explicitly, and says what is missing. */
class RaftTlsSettingsTest {
  @TempDir
  Path tmp;

  private static GatewayProperties.Raft raft(GatewayProperties.RaftTlsFiles tls, boolean plaintext) {
    return new GatewayProperties.Raft("a", Map.of("a", "127.0.0.1:1"), Path.of("group.key"), Duration.ofSeconds(1),
        10_000, tls, plaintext);
  }

  @Test
  void noTlsAndNoPlaintext_refusesToStartNamingTheSettings() {
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> LedgerConfiguration.raftTls(raft(null, false)));
    assertTrue(e.getMessage().contains("gateway.ledger.raft.tls.key-file"), e.getMessage());
    assertTrue(e.getMessage().contains("gateway.ledger.raft.plaintext=true"), e.getMessage());
  }

  @Test
  void partialTls_refusesToStart() throws Exception {
    RaftTls.generate("a", tmp.resolve("a.key"), tmp.resolve("a.crt"), Duration.ofDays(1), new SecureRandom());
    assertThrows(IllegalStateException.class, () -> LedgerConfiguration.raftTls(
        raft(new GatewayProperties.RaftTlsFiles(tmp.resolve("a.key"), tmp.resolve("a.crt"), List.of()), false)));
  }

  @Test
  void plaintextAndTlsTogether_refusesToStart() throws Exception {
    RaftTls.generate("a", tmp.resolve("a.key"), tmp.resolve("a.crt"), Duration.ofDays(1), new SecureRandom());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> LedgerConfiguration.raftTls(raft(
        new GatewayProperties.RaftTlsFiles(tmp.resolve("a.key"), tmp.resolve("a.crt"), List.of(tmp.resolve("a.crt"))),
        true)));
    assertTrue(e.getMessage().contains("choose one"), e.getMessage());
  }

  @Test
  void plaintextChosen_noTls() {
    assertNull(LedgerConfiguration.raftTls(raft(null, true)));
  }

  @Test
  void tlsFiles_loadThePinnedMemberCertificates() throws Exception {
    RaftTls.generate("a", tmp.resolve("a.key"), tmp.resolve("a.crt"), Duration.ofDays(1), new SecureRandom());
    RaftTls.generate("b", tmp.resolve("b.key"), tmp.resolve("b.crt"), Duration.ofDays(1), new SecureRandom());
    RaftTls tls = LedgerConfiguration.raftTls(raft(new GatewayProperties.RaftTlsFiles(tmp.resolve("a.key"),
        tmp.resolve("a.crt"), List.of(tmp.resolve("a.crt"), tmp.resolve("b.crt"))), false));
    assertEquals(2, tls.pinned().size());
  }
}
