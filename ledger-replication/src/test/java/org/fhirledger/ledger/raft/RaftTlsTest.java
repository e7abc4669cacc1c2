package org.fhirledger.ledger.raft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.util.TimeDuration;
import org.fhirledger.ledger.Checkpoint;
import org.fhirledger.ledger.note.NoteSigner;
import org.fhirledger.ledger.raft.Members.Member;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The members' mutual TLS with pinned certificates: a group of three over TLS replicates; a Raft client holding a
 * member's key reads the group's state (the control), while a client with a certificate no member pinned, or with
 * no TLS at all, gets nothing from any member.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RaftTlsTest {
  @TempDir
  static Path tmp;

  private NoteSigner signer;
  private Map<String, String> peers;
  private final List<Member> members = new ArrayList<>();

  @BeforeAll
  void startGroup() throws Exception {
    signer = NoteSigner.generate("tls.test.example/ledger", new SecureRandom());
    peers = Members.peers(List.of("a", "b", "c"));
    for (String id : peers.keySet()) {
      members.add(Members.start(Members.config(id, peers, tmp), signer, 64));
    }
    for (int i = 0; i < 20; i++) {
      members.get(i % 3).ledger().append(Members.entry("tls", 0, i, 100));
    }
    Members.await("every member to apply 20 entries", Duration.ofSeconds(60),
        () -> members.stream().allMatch(m -> m.ledger().latestCheckpoint().size() == 20));
  }

  @AfterAll
  void stopGroup() {
    members.forEach(Member::close);
  }

  @Test
  void groupOverTls_everyMemberHoldsTheSameCheckpoint() {
    List<String> notes = members.stream().map(m -> m.ledger().latestCheckpoint()).map(Checkpoint::signedNote)
        .distinct().toList();
    assertEquals(1, notes.size(), "members over TLS disagree: " + notes);
  }

  @Test
  void clientWithAMembersKey_readsTheGroupState() throws Exception {
    RaftTls member = Members.tls("a", peers.keySet(), tmp.resolve("tls"));
    try (RaftClient client = client(member)) {
      RaftClientReply reply = client.io().sendReadOnly(Messages.stateQuery());
      assertTrue(reply.isSuccess(), "a member's key must reach the group: " + reply);
      assertEquals(20, Messages.readState(reply.getMessage().getContent()).size());
    }
  }

  @Test
  void clientWithAnUnpinnedCertificate_isRefusedByEveryMember() throws Exception {
    Path outsiderDir = tmp.resolve("outsider");
    RaftTls.generate("x", outsiderDir.resolve("x.key"), outsiderDir.resolve("x.crt"), Duration.ofDays(1),
        new SecureRandom());
    List<Path> trusts = new ArrayList<>();
    for (String id : peers.keySet()) {
      trusts.add(tmp.resolve("tls").resolve(id + ".crt"));
    }
    trusts.add(outsiderDir.resolve("x.crt"));
    // the outsider trusts the members' certificates; they do not trust its
    RaftTls outsider = RaftTls.load(outsiderDir.resolve("x.key"), outsiderDir.resolve("x.crt"), trusts);
    try (RaftClient client = client(outsider)) {
      assertThrows(IOException.class, () -> client.io().sendReadOnly(Messages.stateQuery()));
    }
  }

  @Test
  void clientWithoutTls_isRefusedByEveryMember() throws Exception {
    try (RaftClient client = client(null)) {
      assertThrows(IOException.class, () -> client.io().sendReadOnly(Messages.stateQuery()));
    }
  }

  @Test
  void load_refusesMissingFilesAndAnOwnCertificateThatIsNotPinned() throws Exception {
    Path dir = tmp.resolve("load");
    RaftTls.generate("m", dir.resolve("m.key"), dir.resolve("m.crt"), Duration.ofDays(1), new SecureRandom());
    RaftTls.generate("n", dir.resolve("n.key"), dir.resolve("n.crt"), Duration.ofDays(1), new SecureRandom());
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("m.key"))));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
        () -> RaftTls.load(dir.resolve("absent.key"), dir.resolve("m.crt"), List.of(dir.resolve("m.crt"))));
    assertTrue(missing.getMessage().contains("absent.key"), missing.getMessage());
    IllegalArgumentException notPinned = assertThrows(IllegalArgumentException.class,
        () -> RaftTls.load(dir.resolve("m.key"), dir.resolve("m.crt"), List.of(dir.resolve("n.crt"))));
    assertTrue(notPinned.getMessage().contains("must include this member's own"), notPinned.getMessage());
    IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class,
        () -> RaftTls.load(dir.resolve("m.crt"), dir.resolve("m.crt"), List.of(dir.resolve("m.crt"))));
    assertTrue(wrongType.getMessage().contains("PRIVATE KEY"), wrongType.getMessage());
    // an existing key is kept, and a key that does not match the certificate is refused
    assertEquals(RaftTls.fingerprint(RaftTls.generate("m", dir.resolve("m.key"), dir.resolve("m.crt"),
        Duration.ofDays(1), new SecureRandom())), RaftTls.fingerprint(RaftTls.load(dir.resolve("m.key"),
        dir.resolve("m.crt"), List.of(dir.resolve("m.crt"))).certificate()));
    assertThrows(IllegalArgumentException.class, () -> RaftTls.generate("m", dir.resolve("m.key"),
        dir.resolve("n.crt"), Duration.ofDays(1), new SecureRandom()));
  }

  /** A Raft client of the group that gives up after two attempts of one second each. */
  private RaftClient client(RaftTls tls) {
    RaftProperties p = new RaftProperties();
    RaftClientConfigKeys.Rpc.setRequestTimeout(p, TimeDuration.valueOf(1, TimeUnit.SECONDS));
    Parameters parameters = new Parameters();
    if (tls != null) {
      GrpcConfigKeys.TLS.setConf(parameters, tls.grpcConfig());
    }
    return RaftClient.newBuilder()
        .setRaftGroup(RaftLedger.group(signer.name(), peers))
        .setProperties(p)
        .setParameters(parameters)
        .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(2,
            TimeDuration.valueOf(100, TimeUnit.MILLISECONDS)))
        .build();
  }
}
