package org.fhirledger.ledger.merkle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.LedgerVerificationException;
import org.junit.jupiter.api.Test;

/** MerkleProofs and ProofVerifier against the reference tree, for every size and index up to 70. */
class MerkleProofsTest {
  private static final int N = 70;

  private static ReferenceTree tree() {
    ReferenceTree t = new ReferenceTree();
    for (int i = 0; i < N; i++) {
      t.add(("entry " + i).getBytes(StandardCharsets.UTF_8));
    }
    return t;
  }

  /** A hash source answering perfect subtrees from the reference tree. */
  private static HashSource source(ReferenceTree t) {
    return (level, index) -> t.mth((int) (index << level), (int) ((index + 1) << level));
  }

  @Test
  void root_everySize_matchesReferenceTree() throws Exception {
    ReferenceTree t = tree();
    assertArrayEquals(Rfc6962.emptyRoot(), MerkleProofs.root(0, source(t)));
    for (int n = 1; n <= N; n++) {
      assertArrayEquals(t.root(n), MerkleProofs.root(n, source(t)), "size " + n);
    }
  }

  @Test
  void inclusionProof_everyIndexAndSize_matchesReferenceAndVerifies() throws Exception {
    ReferenceTree t = tree();
    for (int n = 1; n <= N; n++) {
      for (int i = 0; i < n; i++) {
        List<byte[]> proof = MerkleProofs.inclusionProof(i, n, source(t));
        assertHashesEqual(t.path(i, 0, n), proof, "index " + i + " size " + n);
        ProofVerifier.verifyInclusion(i, n, t.leafHash(i), proof, t.root(n));
      }
    }
  }

  @Test
  void consistencyProof_everyPairOfSizes_matchesReferenceAndVerifies() throws Exception {
    ReferenceTree t = tree();
    for (int n = 1; n <= N; n++) {
      for (int m = 1; m <= n; m++) {
        List<byte[]> proof = MerkleProofs.consistencyProof(m, n, source(t));
        assertHashesEqual(t.consistency(m, n), proof, m + " -> " + n);
        ProofVerifier.verifyConsistency(m, n, t.root(m), t.root(n), proof);
      }
    }
  }

  @Test
  void verifyInclusion_flippedBitInAnyProofHash_throwsNamingTheRoots() throws Exception {
    ReferenceTree t = tree();
    List<byte[]> proof = MerkleProofs.inclusionProof(13, 60, source(t));
    for (int k = 0; k < proof.size(); k++) {
      List<byte[]> bad = new ArrayList<>(proof);
      byte[] h = bad.get(k).clone();
      h[5] ^= 0x10;
      bad.set(k, h);
      LedgerVerificationException e = assertThrows(LedgerVerificationException.class,
          () -> ProofVerifier.verifyInclusion(13, 60, t.leafHash(13), bad, t.root(60)));
      assertEquals(true, e.getMessage().contains(Rfc6962.hex(t.root(60))), e.getMessage());
    }
  }

  @Test
  void verifyConsistency_wrongOldRoot_throws() throws Exception {
    ReferenceTree t = tree();
    List<byte[]> proof = MerkleProofs.consistencyProof(21, 64, source(t));
    assertThrows(LedgerVerificationException.class,
        () -> ProofVerifier.verifyConsistency(21, 64, t.root(20), t.root(64), proof));
  }

  private static void assertHashesEqual(List<byte[]> want, List<byte[]> got, String what) {
    assertEquals(want.size(), got.size(), what);
    for (int i = 0; i < want.size(); i++) {
      assertArrayEquals(want.get(i), got.get(i), what + " hash " + i);
    }
  }
}
