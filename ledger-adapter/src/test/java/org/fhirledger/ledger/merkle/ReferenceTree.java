package org.fhirledger.ledger.merkle;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

/**
 * A deliberately simple RFC 6962 tree, straight from the recursive definitions in section 2.1, with its own SHA-256
 * calls: the yardstick for everything clever.
 */
public final class ReferenceTree {
  private final List<byte[]> leaves = new ArrayList<>();

  public void add(byte[] entry) {
    leaves.add(entry.clone());
  }

  public int size() {
    return leaves.size();
  }

  public byte[] root(int n) {
    return mth(0, n);
  }

  public byte[] leafHash(int i) {
    return sha(new byte[] {0}, leaves.get(i));
  }

  public byte[] mth(int lo, int hi) {
    int n = hi - lo;
    if (n == 0) {
      return sha();
    }
    if (n == 1) {
      return sha(new byte[] {0}, leaves.get(lo));
    }
    int k = Integer.highestOneBit(n - 1);
    return sha(new byte[] {1}, mth(lo, lo + k), mth(lo + k, hi));
  }

  public List<byte[]> path(int m, int lo, int hi) {
    List<byte[]> out = new ArrayList<>();
    int n = hi - lo;
    if (n <= 1) {
      return out;
    }
    int k = Integer.highestOneBit(n - 1);
    if (m - lo < k) {
      out.addAll(path(m, lo, lo + k));
      out.add(mth(lo + k, hi));
    } else {
      out.addAll(path(m, lo + k, hi));
      out.add(mth(lo, lo + k));
    }
    return out;
  }

  public List<byte[]> consistency(int m, int n) {
    return m == 0 || m == n ? new ArrayList<>() : subproof(m, 0, n, true);
  }

  private List<byte[]> subproof(int m, int lo, int hi, boolean b) {
    List<byte[]> out = new ArrayList<>();
    int n = hi - lo;
    if (m - lo == n) {
      if (!b) {
        out.add(mth(lo, hi));
      }
      return out;
    }
    int k = Integer.highestOneBit(n - 1);
    if (m - lo <= k) {
      out.addAll(subproof(m, lo, lo + k, b));
      out.add(mth(lo + k, hi));
    } else {
      out.addAll(subproof(m, lo + k, hi, false));
      out.add(mth(lo, lo + k));
    }
    return out;
  }

  private static byte[] sha(byte[]... parts) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (byte[] p : parts) {
        md.update(p);
      }
      return md.digest();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }
}
