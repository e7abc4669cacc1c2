package org.fhirledger.ledger.entry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LinkKeyTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void loadOrGenerate_storesAnOwnerOnlyKey_andLoadsTheSameKeyAgain(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("keys").resolve("paging-link.key");
    LinkKey first = LinkKey.loadOrGenerate(file, new SecureRandom());
    assertEquals(Set.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
        Files.getPosixFilePermissions(file));
    LinkKey again = LinkKey.loadOrGenerate(file, new SecureRandom());
    assertArrayEquals(first.tag(b("a"), b("b")), again.tag(b("a"), b("b")));
  }

  @Test
  void verify_tagOfOtherPartsOrKey_throws() throws Exception {
    LinkKey key = LinkKey.of(new byte[32]);
    byte[] tag = key.tag(b("page"), b("caller-1"));
    key.verify(tag, b("page"), b("caller-1"));
    assertThrows(LinkKey.InvalidTagException.class, () -> key.verify(tag, b("page"), b("caller-2")));
    assertThrows(LinkKey.InvalidTagException.class, () -> key.verify(tag, b("pagecaller-1"), b("")));
    byte[] other = new byte[32];
    other[0] = 1;
    assertThrows(LinkKey.InvalidTagException.class, () -> LinkKey.of(other).verify(tag, b("page"), b("caller-1")));
    assertThrows(LinkKey.InvalidTagException.class, () -> key.verify(null, b("page")));
  }

  @Test
  void loadOrGenerate_malformedFile_throws(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("bad.key");
    Files.writeString(file, "not a key");
    assertThrows(java.io.IOException.class, () -> LinkKey.loadOrGenerate(file, new SecureRandom()));
  }
}
