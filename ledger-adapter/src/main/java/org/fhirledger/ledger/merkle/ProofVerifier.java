package org.fhirledger.ledger.merkle;

import java.util.Arrays;
import java.util.List;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * Verifies RFC 6962 inclusion and consistency proofs, with the semantics of transparency-dev/merkle's
 * {@code proof} package (whose golden vectors the tests run). Methods return nothing and throw
 * {@link LedgerVerificationException} naming the defect; they never return a boolean to forget.
 *
 * <p>Stateless and thread-safe. Null arguments are rejected with {@link NullPointerException}.
 */
public final class ProofVerifier {
  private ProofVerifier() {}

  /** Checks that {@code leafHash} is leaf {@code index} of the tree of {@code size} with root {@code root}. */
  public static void verifyInclusion(long index, long size, byte[] leafHash, List<byte[]> proof, byte[] root)
      throws LedgerVerificationException {
    byte[] calculated = rootFromInclusionProof(index, size, leafHash, proof);
    if (!Arrays.equals(calculated, root)) {
      throw new LedgerVerificationException("inclusion proof for index " + index + " in tree size " + size
          + " gives root " + Rfc6962.hex(calculated) + " but the expected root is " + Rfc6962.hex(root));
    }
  }

  /** The root implied by an inclusion proof; the caller compares it with a trusted root. */
  public static byte[] rootFromInclusionProof(long index, long size, byte[] leafHash, List<byte[]> proof)
      throws LedgerVerificationException {
    if (index < 0 || index >= size) {
      throw new LedgerVerificationException("leaf index " + index + " is not below tree size " + size);
    }
    checkHashLength("leaf hash", leafHash);
    int inner = innerProofSize(index, size);
    int border = Long.bitCount(index >>> inner);
    if (proof.size() != inner + border) {
      throw new LedgerVerificationException("inclusion proof for index " + index + " in tree size " + size
          + " has " + proof.size() + " hashes, expected " + (inner + border));
    }
    for (int i = 0; i < proof.size(); i++) {
      checkHashLength("inclusion proof hash " + i, proof.get(i));
    }
    byte[] res = chainInner(leafHash, proof.subList(0, inner), index);
    return chainBorderRight(res, proof.subList(inner, proof.size()));
  }

  /**
   * Checks that the tree of {@code size2} with root {@code root2} extends the tree of {@code size1} with root
   * {@code root1}. As in transparency-dev, {@code size1 == 0} is rejected unless both sizes are 0 (a proof from
   * the empty tree is meaningless), and equal sizes need an empty proof and equal roots.
   */
  public static void verifyConsistency(long size1, long size2, byte[] root1, byte[] root2, List<byte[]> proof)
      throws LedgerVerificationException {
    if (size2 < size1) {
      throw new LedgerVerificationException("consistency: size2 " + size2 + " is below size1 " + size1);
    }
    if (size1 == size2) {
      if (!proof.isEmpty()) {
        throw new LedgerVerificationException("consistency: sizes are equal (" + size1 + ") but the proof has "
            + proof.size() + " hashes");
      }
      if (size1 == 0 && !Arrays.equals(root1, Rfc6962.emptyRoot())) {
        throw new LedgerVerificationException("consistency: tree size 0 must have the empty root "
            + Rfc6962.hex(Rfc6962.emptyRoot()) + ", got " + Rfc6962.hex(root1));
      }
      if (!Arrays.equals(root1, root2)) {
        throw new LedgerVerificationException("consistency: sizes are equal (" + size1 + ") but root1 "
            + Rfc6962.hex(root1) + " differs from root2 " + Rfc6962.hex(root2));
      }
      return;
    }
    if (size1 == 0) {
      throw new LedgerVerificationException("consistency proof from the empty tree is meaningless");
    }
    if (proof.isEmpty()) {
      throw new LedgerVerificationException("consistency proof from " + size1 + " to " + size2 + " is empty");
    }
    checkHashLength("root1", root1);
    for (int i = 0; i < proof.size(); i++) {
      checkHashLength("consistency proof hash " + i, proof.get(i));
    }
    int inner = innerProofSize(size1 - 1, size2);
    int border = Long.bitCount((size1 - 1) >>> inner);
    int shift = Long.numberOfTrailingZeros(size1);
    inner -= shift;
    byte[] seed;
    int start;
    if (size1 == 1L << shift) {
      seed = root1;
      start = 0;
    } else {
      seed = proof.get(0);
      start = 1;
    }
    if (proof.size() != start + inner + border) {
      throw new LedgerVerificationException("consistency proof from " + size1 + " to " + size2 + " has "
          + proof.size() + " hashes, expected " + (start + inner + border));
    }
    List<byte[]> rest = proof.subList(start, proof.size());
    long mask = (size1 - 1) >>> shift;
    byte[] hash1 = chainInnerRight(seed, rest.subList(0, inner), mask);
    hash1 = chainBorderRight(hash1, rest.subList(inner, rest.size()));
    if (!Arrays.equals(hash1, root1)) {
      throw new LedgerVerificationException("consistency proof from " + size1 + " to " + size2
          + " gives old root " + Rfc6962.hex(hash1) + " but the expected old root is " + Rfc6962.hex(root1));
    }
    byte[] hash2 = chainInner(seed, rest.subList(0, inner), mask);
    hash2 = chainBorderRight(hash2, rest.subList(inner, rest.size()));
    if (!Arrays.equals(hash2, root2)) {
      throw new LedgerVerificationException("consistency proof from " + size1 + " to " + size2
          + " gives new root " + Rfc6962.hex(hash2) + " but the expected new root is " + Rfc6962.hex(root2));
    }
  }

  private static void checkHashLength(String what, byte[] hash) throws LedgerVerificationException {
    if (hash.length != Rfc6962.HASH_SIZE) {
      throw new LedgerVerificationException(what + " has " + hash.length + " bytes, expected "
          + Rfc6962.HASH_SIZE);
    }
  }

  private static int innerProofSize(long index, long size) {
    return 64 - Long.numberOfLeadingZeros(index ^ (size - 1));
  }

  private static byte[] chainInner(byte[] seed, List<byte[]> proof, long index) {
    for (int i = 0; i < proof.size(); i++) {
      if (((index >>> i) & 1) == 0) {
        seed = Rfc6962.nodeHash(seed, proof.get(i));
      } else {
        seed = Rfc6962.nodeHash(proof.get(i), seed);
      }
    }
    return seed;
  }

  private static byte[] chainInnerRight(byte[] seed, List<byte[]> proof, long index) {
    for (int i = 0; i < proof.size(); i++) {
      if (((index >>> i) & 1) == 1) {
        seed = Rfc6962.nodeHash(proof.get(i), seed);
      }
    }
    return seed;
  }

  private static byte[] chainBorderRight(byte[] seed, List<byte[]> proof) {
    for (byte[] h : proof) {
      seed = Rfc6962.nodeHash(h, seed);
    }
    return seed;
  }
}
