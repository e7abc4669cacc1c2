package org.fhirledger.ledger.tiles;

import java.util.HashMap;
import java.util.Map;
import org.fhirledger.ledger.LedgerUnavailableException;
import org.fhirledger.ledger.LedgerVerificationException;
import org.fhirledger.ledger.merkle.HashSource;
import org.fhirledger.ledger.merkle.Rfc6962;

/**
 * Perfect-subtree hashes of the tree of one size, computed from its tiles: a node at tree level {@code 8L + r}
 * is the root of {@code 2^r} consecutive hashes of one tile at tile level {@code L}. Reads each tile once.
 *
 * <p>Not thread-safe: use one instance per proof.
 */
public final class TileHashSource implements HashSource {
  private final TileReader reader;
  private final long size;
  private final Map<Long, byte[]> tiles = new HashMap<>();

  public TileHashSource(TileReader reader, long size) {
    this.reader = reader;
    this.size = size;
  }

  @Override
  public byte[] perfect(int level, long index) throws LedgerUnavailableException, LedgerVerificationException {
    int tileLevel = level / Tiles.HEIGHT;
    int r = level % Tiles.HEIGHT;
    long first = index << r;
    long tileIndex = first >>> Tiles.HEIGHT;
    int pos = (int) (first & (Tiles.WIDTH - 1));
    int width = Tiles.widthAt(tileLevel, tileIndex, size);
    if (pos + (1 << r) > width) {
      throw new IllegalArgumentException("node (level " + level + ", index " + index + ") is not in the tree of size "
          + size);
    }
    byte[] tile = tile(tileLevel, tileIndex, width);
    return Rfc6962.perfectRoot(tile, pos * Rfc6962.HASH_SIZE, 1 << r);
  }

  private byte[] tile(int level, long index, int width) throws LedgerUnavailableException, LedgerVerificationException {
    long key = (index << 6) | level;
    byte[] t = tiles.get(key);
    if (t == null) {
      t = reader.tile(level, index, width);
      if (t.length != width * Rfc6962.HASH_SIZE) {
        throw new LedgerVerificationException(Tiles.tilePath(level, index, width) + " has " + t.length
            + " bytes, expected " + width * Rfc6962.HASH_SIZE);
      }
      tiles.put(key, t);
    }
    return t;
  }
}
