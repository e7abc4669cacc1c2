package org.fhirledger.ledger.merkle;

import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * Builds RFC 6962 (section 2.1.1, 2.1.2) inclusion and consistency proofs and tree roots from a {@link HashSource}
 * of perfect-subtree hashes, so that a proof needs O(log n) hashes from storage and never the whole tree.
 *
 * <p>Stateless and thread-safe (the hash source need not be).
 */
public final class MerkleProofs {
  private MerkleProofs() {}

  /** A range {@code [start, end)} of leaves whose Merkle tree hash is one element of a proof. */
  record Range(long start, long end) {}

  /** The root hash of the tree of {@code size} leaves; the empty-tree hash for size 0. */
  public static byte[] root(long size, HashSource source)
      throws LedgerUnavailableException, LedgerVerificationException {
    if (size < 0) {
      throw new IllegalArgumentException("size must be >= 0, was " + size);
    }
    if (size == 0) {
      return Rfc6962.emptyRoot();
    }
    return rangeHash(0, size, source);
  }

  /** The audit path for leaf {@code index} in the tree of {@code size} leaves (RFC 6962 PATH). */
  public static List<byte[]> inclusionProof(long index, long size, HashSource source)
      throws LedgerUnavailableException, LedgerVerificationException {
    if (index < 0 || index >= size) {
      throw new IllegalArgumentException("need 0 <= index < size, got index " + index + ", size " + size);
    }
    List<Range> ranges = new ArrayList<>();
    path(index, 0, size, ranges);
    return hashes(ranges, source);
  }

  /** The consistency proof from tree size {@code size1} to {@code size2} (RFC 6962 PROOF). */
  public static List<byte[]> consistencyProof(long size1, long size2, HashSource source)
      throws LedgerUnavailableException, LedgerVerificationException {
    if (size1 < 0 || size1 > size2) {
      throw new IllegalArgumentException("need 0 <= size1 <= size2, got " + size1 + ", " + size2);
    }
    List<Range> ranges = new ArrayList<>();
    if (size1 > 0 && size1 < size2) {
      subproof(size1, 0, size2, true, ranges);
    }
    return hashes(ranges, source);
  }

  static List<Range> inclusionRanges(long index, long size) {
    List<Range> ranges = new ArrayList<>();
    path(index, 0, size, ranges);
    return ranges;
  }

  private static List<byte[]> hashes(List<Range> ranges, HashSource source)
      throws LedgerUnavailableException, LedgerVerificationException {
    List<byte[]> out = new ArrayList<>(ranges.size());
    for (Range r : ranges) {
      out.add(rangeHash(r.start(), r.end(), source));
    }
    return out;
  }

  private static void path(long m, long lo, long hi, List<Range> out) {
    long n = hi - lo;
    if (n == 1) {
      return;
    }
    long k = largestPowerOfTwoBelow(n);
    if (m - lo < k) {
      path(m, lo, lo + k, out);
      out.add(new Range(lo + k, hi));
    } else {
      path(m, lo + k, hi, out);
      out.add(new Range(lo, lo + k));
    }
  }

  private static void subproof(long m, long lo, long hi, boolean complete, List<Range> out) {
    long n = hi - lo;
    if (m - lo == n) {
      if (!complete) {
        out.add(new Range(lo, hi));
      }
      return;
    }
    long k = largestPowerOfTwoBelow(n);
    if (m - lo <= k) {
      subproof(m, lo, lo + k, complete, out);
      out.add(new Range(lo + k, hi));
    } else {
      subproof(m, lo + k, hi, false, out);
      out.add(new Range(lo, lo + k));
    }
  }

  /**
   * Merkle tree hash of leaves {@code [start, end)}, where {@code start} is aligned as in every RFC 6962 subtree:
   * the range splits into perfect subtrees of decreasing size, folded from the right.
   */
  public static byte[] rangeHash(long start, long end, HashSource source)
      throws LedgerUnavailableException, LedgerVerificationException {
    if (start >= end) {
      throw new IllegalArgumentException("empty range [" + start + ", " + end + ")");
    }
    int[] levels = new int[64];
    long[] indexes = new long[64];
    int count = 0;
    long pos = start;
    while (pos < end) {
      int level = pos == 0 ? 63 : Long.numberOfTrailingZeros(pos);
      while (level > 0 && (level >= 63 || pos + (1L << level) > end)) {
        level--;
      }
      levels[count] = level;
      indexes[count] = pos >>> level;
      count++;
      pos += 1L << level;
    }
    byte[] acc = source.perfect(levels[count - 1], indexes[count - 1]);
    for (int i = count - 2; i >= 0; i--) {
      acc = Rfc6962.nodeHash(source.perfect(levels[i], indexes[i]), acc);
    }
    return acc;
  }

  static long largestPowerOfTwoBelow(long n) {
    return Long.highestOneBit(n - 1);
  }
}
