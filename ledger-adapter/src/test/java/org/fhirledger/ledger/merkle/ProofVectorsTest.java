package org.fhirledger.ledger.merkle;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.stream.Stream;
import org.fhirledger.ledger.LedgerVerificationException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/** transparency-dev/merkle's golden RFC 6962 vectors, happy and tampered, from {@code ../shared/testdata/merkle}. */
class ProofVectorsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path vectors(String kind) {
    String shared = System.getProperty("shared.dir");
    return shared == null ? null : Path.of(shared, "testdata", "merkle", kind);
  }

  /**
   * When the shared vectors are absent, one skipped test that says so (a factory that merely aborted
   * would be reported as nothing at all).
   */
  private static Stream<DynamicTest> absent(Path dir) {
    String why = "shared test data absent: no " + (dir == null ? "shared.dir system property" : dir)
        + "; skipping the RFC 6962 golden vectors";
    System.out.println(why);
    return Stream.of(DynamicTest.dynamicTest(why, () -> org.junit.jupiter.api.Assumptions.abort(why)));
  }

  private static List<Path> jsonFiles(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
    }
  }

  @TestFactory
  Stream<DynamicTest> verifyInclusion_goldenVectors_acceptHappyAndRejectTampered() throws IOException {
    Path dir = vectors("inclusion");
    if (dir == null || !Files.isDirectory(dir)) {
      return absent(dir);
    }
    List<Path> files = jsonFiles(dir);
    assumeTrue(files.size() > 10, "shared test data absent: too few inclusion vectors in " + dir);
    return files.stream().map(f -> DynamicTest.dynamicTest(dir.relativize(f).toString(), () -> {
      JsonNode v = JSON.readTree(f.toFile());
      long index = v.get("leafIdx").asLong();
      long size = v.get("treeSize").asLong();
      byte[] root = b64(v.get("root"));
      byte[] leaf = b64(v.get("leafHash"));
      List<byte[]> proof = list(v.get("proof"));
      if (v.get("wantErr").asBoolean()) {
        assertThrows(LedgerVerificationException.class,
            () -> ProofVerifier.verifyInclusion(index, size, leaf, proof, root), v.get("desc").asText());
      } else {
        assertDoesNotThrow(() -> ProofVerifier.verifyInclusion(index, size, leaf, proof, root),
            v.get("desc").asText());
      }
    }));
  }

  @TestFactory
  Stream<DynamicTest> verifyConsistency_goldenVectors_acceptHappyAndRejectTampered() throws IOException {
    Path dir = vectors("consistency");
    if (dir == null || !Files.isDirectory(dir)) {
      return absent(dir);
    }
    List<Path> files = jsonFiles(dir);
    assumeTrue(files.size() > 10, "shared test data absent: too few consistency vectors in " + dir);
    return files.stream().map(f -> DynamicTest.dynamicTest(dir.relativize(f).toString(), () -> {
      JsonNode v = JSON.readTree(f.toFile());
      long size1 = v.get("size1").asLong();
      long size2 = v.get("size2").asLong();
      byte[] root1 = b64(v.get("root1"));
      byte[] root2 = b64(v.get("root2"));
      List<byte[]> proof = list(v.get("proof"));
      if (v.get("wantErr").asBoolean()) {
        assertThrows(LedgerVerificationException.class,
            () -> ProofVerifier.verifyConsistency(size1, size2, root1, root2, proof), v.get("desc").asText());
      } else {
        assertDoesNotThrow(() -> ProofVerifier.verifyConsistency(size1, size2, root1, root2, proof),
            v.get("desc").asText());
      }
    }));
  }

  private static byte[] b64(JsonNode n) {
    return n == null || n.isNull() ? new byte[0] : Base64.getDecoder().decode(n.asText());
  }

  private static List<byte[]> list(JsonNode n) {
    List<byte[]> out = new ArrayList<>();
    if (n != null && !n.isNull()) {
      n.forEach(e -> out.add(b64(e)));
    }
    return out;
  }
}
