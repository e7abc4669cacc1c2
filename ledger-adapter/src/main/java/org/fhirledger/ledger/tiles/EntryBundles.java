package org.fhirledger.ledger.tiles;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import org.fhirledger.ledger.LedgerVerificationException;

/**
 * Entry bundle encoding of C2SP tlog-tiles: a sequence of big-endian uint16 length-prefixed entries.
 *
 * <p>Stateless and thread-safe.
 */
public final class EntryBundles {
  /** Largest entry a bundle can carry. */
  public static final int MAX_ENTRY_SIZE = 0xFFFF;

  private EntryBundles() {}

  /** Encodes entries; each must be at most 65535 bytes. */
  public static byte[] encode(List<byte[]> entries) {
    int total = 0;
    for (byte[] e : entries) {
      if (e.length > MAX_ENTRY_SIZE) {
        throw new IllegalArgumentException("entry of " + e.length + " bytes exceeds " + MAX_ENTRY_SIZE);
      }
      total += 2 + e.length;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(total);
    for (byte[] e : entries) {
      out.write(e.length >>> 8);
      out.write(e.length & 0xFF);
      out.writeBytes(e);
    }
    return out.toByteArray();
  }

  /**
   * Decodes a bundle that must hold exactly {@code expected} entries and nothing after them.
   *
   * @param what the bundle's path, named in failure messages
   */
  public static List<byte[]> decode(byte[] bundle, int expected, String what) throws LedgerVerificationException {
    List<byte[]> entries = new ArrayList<>(expected);
    int pos = 0;
    while (pos < bundle.length) {
      if (pos + 2 > bundle.length) {
        throw new LedgerVerificationException(what + ": truncated length prefix at byte " + pos + " (entry "
            + entries.size() + ")");
      }
      int len = ((bundle[pos] & 0xFF) << 8) | (bundle[pos + 1] & 0xFF);
      pos += 2;
      if (pos + len > bundle.length) {
        throw new LedgerVerificationException(what + ": entry " + entries.size() + " declares " + len
            + " bytes but only " + (bundle.length - pos) + " remain");
      }
      byte[] e = new byte[len];
      System.arraycopy(bundle, pos, e, 0, len);
      entries.add(e);
      pos += len;
    }
    if (entries.size() != expected) {
      throw new LedgerVerificationException(what + ": holds " + entries.size() + " entries, expected " + expected);
    }
    return entries;
  }
}
